package web

// reportRoutes registers reports, ads, optimize and store settings (W4).
func (s *Server) reportRoutes() {}
