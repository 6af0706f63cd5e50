package web

// wizardRoutes registers the new-campaign wizard (W1).
func (s *Server) wizardRoutes() {}
