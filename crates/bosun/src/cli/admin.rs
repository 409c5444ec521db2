//! The command line of `bosun admin …` (on the store itself) and `bosun tenant …`
//! (through the API).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{ClientArgs, DatabaseArgs};

/// `bosun admin …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Mint, list and revoke API tokens.
    #[command(subcommand)]
    Token(AdminTokenCommand),
    /// Create and list tenants.
    #[command(subcommand)]
    Tenant(AdminTenantCommand),
}

/// `bosun admin token …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminTokenCommand {
    /// Mint a token and print its secret, once (on stdout, alone, for scripts).
    Create(AdminTokenCreateArgs),
    /// List a tenant's tokens (never their secrets).
    #[command(visible_alias = "list")]
    Ls(AdminTokenLsArgs),
    /// Delete a token by its id. A tenant's last token holding * is kept.
    #[command(visible_alias = "rm")]
    Revoke(AdminTokenRevokeArgs),
}

/// `bosun admin tenant …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminTenantCommand {
    /// Create a tenant with an admin token (holding *), whose secret is printed once.
    Create(AdminTenantCreateArgs),
    /// List the tenants.
    #[command(visible_alias = "list")]
    Ls(AdminListArgs),
}

/// Which store: the one `bosun up` uses for the same settings.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Store")]
pub(crate) struct StoreArgs {
    /// The data directory whose bosun.db to use [default: ~/.local/share/bosun].
    #[arg(long, env = "BOSUN_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

/// The tenant whose tokens an `admin token` subcommand mints, lists or revokes.
#[derive(Debug, Args)]
pub(crate) struct TokenTenant {
    /// The tenant, by slug.
    #[arg(long = "tenant", default_value = "default", value_name = "SLUG")]
    pub(crate) slug: String,
}

#[derive(Debug, Args)]
pub(crate) struct AdminTokenCreateArgs {
    #[command(flatten)]
    pub(crate) tenant: TokenTenant,

    /// A permission (repeatable): RESOURCE:ACTION, RESOURCE:* or * [default: *].
    #[arg(long = "permission", short = 'p', value_name = "PERMISSION")]
    pub(crate) permissions: Vec<String>,

    /// A name to recognise it by.
    #[arg(long, default_value = "admin", value_name = "NAME")]
    pub(crate) name: String,

    /// Print the token with its secret as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AdminTokenLsArgs {
    #[command(flatten)]
    pub(crate) tenant: TokenTenant,

    /// Print {"items": [...]} as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AdminTokenRevokeArgs {
    /// The token's id, as `bosun admin token ls` shows it.
    pub(crate) id: String,

    #[command(flatten)]
    pub(crate) tenant: TokenTenant,

    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AdminTenantCreateArgs {
    #[command(flatten)]
    pub(crate) tenant: NewTenant,

    /// Print the tenant and its admin token (with its secret) as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AdminListArgs {
    /// Print {"items": [...]} as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// A tenant to create, through the API or on the store.
#[derive(Debug, Args)]
pub(crate) struct NewTenant {
    /// Its slug, used in seed 000's routes (/SLUG/api/…): lowercase letters, digits
    /// and '-'.
    pub(crate) slug: String,

    /// A display name [default: the slug].
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
}

/// `bosun tenant …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Create a tenant with an admin token (holding *), whose secret is printed once.
    #[command(after_help = TENANT_EXAMPLES)]
    Create(TenantCreateArgs),
    /// List the tenants.
    #[command(visible_alias = "list")]
    Ls(TenantLsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TenantCreateArgs {
    #[command(flatten)]
    pub(crate) tenant: NewTenant,

    /// Print the server's JSON answer (the tenant, and its token with the secret).
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TenantLsArgs {
    /// Print the server's JSON answer unchanged, for scripts.
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

pub(crate) const ADMIN_EXAMPLES: &str = "Examples:
  bosun admin token create                        # a new admin token (*) of tenant default
  bosun admin token create --name ci -p jobs:view -p executions:*
  bosun admin token ls
  bosun admin token revoke 0193f6d2-…
  bosun admin tenant create acme --name 'Acme Inc.'
  bosun admin token ls --database-url postgres://bosun@db/bosun

They work on the store directly (the server may be running or not): whoever can
read the data directory or the database can use them. A running server stops
accepting a revoked token within 5 seconds.

Exit codes: 0 done, 2 bad input (a name, a permission, an unknown tenant or
token), 4 refused (the slug is taken, the tenant's last token holding *),
99 the store could not be opened.";

const TENANT_EXAMPLES: &str = "Examples:
  bosun tenant create acme --name 'Acme Inc.'     # prints acme's admin token, once
  bosun tenant ls

Needs a token of the server's own tenant (default) with tenants:create
(tenants:view to list).

Exit codes: 0 ok, 2 bad usage or no token, 4 the server refused (its message is
printed), 5 no server at the URL.";
