package web

// campaignRoutes registers the campaign list and lifecycle actions (W1).
func (s *Server) campaignRoutes() {}
