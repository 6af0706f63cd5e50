package web

// earningsRoutes registers earnings and their evidence (W3).
func (s *Server) earningsRoutes() {}
