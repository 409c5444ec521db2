//! `bosun admin token|tenant …`: tokens and tenants on the store itself, for whoever
//! can read the data directory or the database — the way back in when no token is
//! left, since a token can only be minted by one that covers it.
//!
//! The store is opened as `bosun up` opens it, and the rules are the server's own
//! (`bosun_server::access`), applied as the store's owner: any permission may be
//! granted, but a tenant's last token holding `*` is still kept. Works whether the
//! server runs or not: SQLite in WAL mode and PostgreSQL both take a second writer.

use anyhow::Result;
use bosun_core::{Permission, wire};
use bosun_server::DEFAULT_TENANT;
use bosun_server::access::{self, AccessError};
use bosun_store::Store;

use crate::cli::{
    AdminCommand, AdminListArgs, AdminTenantCommand, AdminTenantCreateArgs, AdminTokenCommand,
    AdminTokenCreateArgs, AdminTokenLsArgs, AdminTokenRevokeArgs, StoreArgs,
};
use crate::exit;

/// Runs one `bosun admin` subcommand.
pub(crate) async fn admin(command: AdminCommand) -> Result<u8> {
    let done = match command {
        AdminCommand::Token(AdminTokenCommand::Create(args)) => create_token(args).await,
        AdminCommand::Token(AdminTokenCommand::Ls(args)) => tokens(args).await,
        AdminCommand::Token(AdminTokenCommand::Revoke(args)) => revoke(args).await,
        AdminCommand::Tenant(AdminTenantCommand::Create(args)) => create_tenant(args).await,
        AdminCommand::Tenant(AdminTenantCommand::Ls(args)) => tenants(args).await,
    };
    let error = match done {
        Ok(code) => return Ok(code),
        Err(error) => error,
    };
    // The rules' refusals are one line and a documented code; the rest is internal.
    let code = match error.downcast_ref::<AccessError>() {
        Some(AccessError::Invalid(_) | AccessError::NotFound(_)) => exit::USAGE,
        Some(AccessError::Refused(_) | AccessError::Forbidden(_)) => exit::SERVER_SAID_NO,
        _ => return Err(error),
    };
    eprintln!("bosun: {error}");
    Ok(code)
}

/// The store `bosun up` would use with these settings.
async fn open(args: &StoreArgs) -> Result<Store> {
    let home = super::home_at(args.home.as_deref())?;
    Ok(access::open_store(home.root(), args.database.url.clone()).await?)
}

async fn create_token(args: AdminTokenCreateArgs) -> Result<u8> {
    let store = open(&args.store).await?;
    let tenant = if args.tenant.slug == DEFAULT_TENANT {
        // As `bosun up` makes it, so a token can be minted before the first start.
        store.ensure_tenant(DEFAULT_TENANT, "Default").await?
    } else {
        access::tenant(&store, &args.tenant.slug).await?
    };
    let permissions = match args.permissions.is_empty() {
        true => vec![Permission::All.to_string()],
        false => args.permissions,
    };
    let minted = access::mint_token(&store, &tenant, &args.name, &permissions, None).await;
    store.close().await;
    let (token, secret) = minted?;
    if args.json {
        let created = wire::CreatedToken {
            token: token.clone().into(),
            secret: secret.clone(),
        };
        println!("{:#}", serde_json::to_value(created)?);
    } else {
        eprintln!(
            "bosun: created token {:?} ({}) of tenant {:?} with {}; its secret is shown only \
             this once:",
            token.name,
            token.id,
            tenant.slug,
            spaced(&token.permissions)
        );
        println!("{secret}");
    }
    Ok(exit::SUCCESS)
}

/// Permissions as people type them: `jobs:view executions:*`.
fn spaced(permissions: &[Permission]) -> String {
    let names: Vec<String> = permissions.iter().map(Permission::to_string).collect();
    names.join(" ")
}

async fn tokens(args: AdminTokenLsArgs) -> Result<u8> {
    let store = open(&args.store).await?;
    let listed = match access::tenant(&store, &args.tenant.slug).await {
        Ok(tenant) => store.tokens(&tenant.id).await.map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    store.close().await;
    let header = ["NAME", "ID", "PERMISSIONS", "CREATED"];
    print_list::<_, wire::Token, 4>(args.json, listed?, header, |t| {
        [
            t.name.clone(),
            t.id.clone(),
            spaced(&t.permissions),
            t.created_at.format("%Y-%m-%d %H:%M").to_string(),
        ]
    })
}

async fn revoke(args: AdminTokenRevokeArgs) -> Result<u8> {
    let store = open(&args.store).await?;
    let revoked = match access::tenant(&store, &args.tenant.slug).await {
        Ok(tenant) => access::revoke_token(&store, &tenant, &args.id, None).await,
        Err(e) => Err(e),
    };
    store.close().await;
    revoked?;
    eprintln!(
        "bosun: revoked token {}; a running server refuses it within 5 seconds",
        args.id
    );
    Ok(exit::SUCCESS)
}

async fn create_tenant(args: AdminTenantCreateArgs) -> Result<u8> {
    let store = open(&args.store).await?;
    let created =
        access::create_tenant(&store, &args.tenant.slug, args.tenant.name.as_deref()).await;
    store.close().await;
    let (tenant, token, secret) = created?;
    if args.json {
        let created = wire::CreatedTenant {
            tenant: tenant.clone().into(),
            token: wire::CreatedToken {
                token: token.into(),
                secret: secret.clone(),
            },
        };
        println!("{:#}", serde_json::to_value(created)?);
    } else {
        eprintln!(
            "bosun: created tenant {:?} and its admin token (*), shown only this once:",
            tenant.slug
        );
        println!("{secret}");
    }
    Ok(exit::SUCCESS)
}

async fn tenants(args: AdminListArgs) -> Result<u8> {
    let store = open(&args.store).await?;
    let listed = store.tenants().await;
    store.close().await;
    print_list::<_, wire::Tenant, 3>(args.json, listed?, ["SLUG", "NAME", "ID"], |t| {
        [t.slug.clone(), t.name.clone(), t.id.clone()]
    })
}

/// Prints `items` as the API lists them (`{"items": [...]}`, each as its wire type `W`,
/// the keys in order) with `--json`, else one row each under `header`.
fn print_list<T, W: From<T> + serde::Serialize, const N: usize>(
    json: bool,
    items: Vec<T>,
    header: [&str; N],
    row: impl Fn(&T) -> [String; N],
) -> Result<u8> {
    if json {
        let page = wire::Page::all(items.into_iter().map(W::from).collect());
        println!("{:#}", serde_json::to_value(page)?);
    } else {
        let rows: Vec<[String; N]> = items.iter().map(row).collect();
        print!("{}", columns(header, &rows));
    }
    Ok(exit::SUCCESS)
}

/// Rows under a header, each column as wide as its widest cell.
pub(crate) fn columns<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        format!("{}\n", text.join("  ").trim_end())
    };
    let mut text = line(header);
    for row in rows {
        text.push_str(&line(std::array::from_fn(|i| row[i].as_str())));
    }
    text
}
