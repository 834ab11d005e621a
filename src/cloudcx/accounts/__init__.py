"""People who sign in: administrators and agents, and their Control Panel sessions."""
