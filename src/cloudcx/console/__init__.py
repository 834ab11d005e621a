"""The Control Panel: server-rendered pages for administrators and agents."""
