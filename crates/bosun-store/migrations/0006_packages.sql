-- Bot packages (seed 000's AutomationPackage): a name in a tenant, and its versions,
-- each an uploaded ZIP kept in the package storage under `object_key`. A version is
-- written once: the primary key refuses the same version again, however many
-- servers take uploads. Agents get a machine key, stored as its SHA-256 like token
-- secrets, to fetch packages without a token.
CREATE TABLE packages (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE package_versions (
    package_id TEXT NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    object_key TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (package_id, version)
);

ALTER TABLE agents ADD COLUMN machine_key_hash TEXT;
CREATE UNIQUE INDEX agents_by_machine_key ON agents (machine_key_hash);
