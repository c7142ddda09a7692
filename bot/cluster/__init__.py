"""Several processes on one PostgreSQL: leader election, the event bridge, membership, and
the cache reloads that keep every process's memory in step (see README "Running several
processes"). PostgreSQL is the coordinator; there is no cluster protocol of our own."""
