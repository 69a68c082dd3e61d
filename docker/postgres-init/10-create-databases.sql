-- Runs once, when the PostgreSQL volume is first created. The default database (POSTGRES_DB,
-- "caseline") serves the postgres profile; the kurrentdb profile keeps its read models apart so
-- both profiles can run side by side without sharing projection tables.
CREATE DATABASE caseline_kurrentdb;
