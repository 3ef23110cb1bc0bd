"""Bulk, realistic benchmark data (manage.py seed_load), by job: `load` runs one load from
plan to commit; `planning` decides who and what before anything is written; `rows` turns a
planned message into its row and statuses; `tables` writes rows fast (COPY on PostgreSQL);
`vocabulary` is what the data is made of; `progress` draws the progress bar."""
