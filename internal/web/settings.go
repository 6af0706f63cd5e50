package web

// settingsRoutes registers the settings pages: profile, team and API keys.
func (s *Server) settingsRoutes() {}
