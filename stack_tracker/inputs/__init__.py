"""Everything that reads what people hand us: files of each kind, sign-in logs,
vendor user exports. Each importer is a reader plus rules, over one pipeline
(`inputs.runs`): a logged run, one problem list, a counted write, a refresh."""
