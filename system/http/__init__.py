"""HTTP plumbing shared by the routes: problem details, JSON bodies, auth, rate limits."""
