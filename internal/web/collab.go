package web

// collabRoutes registers applications, posts, codes and conversions (W3).
func (s *Server) collabRoutes() {}
