"""Server-rendered pages: templates and static assets."""
