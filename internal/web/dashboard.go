package web

// dashboardRoutes registers the campaign dashboard (W2).
func (s *Server) dashboardRoutes() {}
