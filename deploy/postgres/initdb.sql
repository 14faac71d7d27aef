-- Run once by the postgres image on an empty data directory (deploy/compose.yml): the database of
-- Rasa's tracker store, beside POSTGRES_DB (meso, the project's own tables). Owned by the role
-- the containers connect as.
CREATE DATABASE meso_tracker OWNER meso;
