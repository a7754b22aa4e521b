"""`mlrecipes init`: a complete project written for the user's own table (what its columns are,
a baseline for its validation criteria, the five profiles and the jobs bundle), rendered from the
templates this package ships, the same ones the repository's churn template is rendered from."""
