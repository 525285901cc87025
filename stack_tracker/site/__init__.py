"""The Datasette site: serving a database or a published folder, publishing a
deployable folder, and the plugins copied into every site."""
