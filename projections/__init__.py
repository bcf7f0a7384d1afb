"""Read side and store plumbing: tenant registry at run time, read models and their runners."""
