//! `bosun tenant create|ls`: tenants on the server, for tokens of its own tenant.

use anyhow::Result;
use reqwest::Method;
use serde_json::json;

use super::table::text_or_dash;
use super::wire::{CreatedTenant, Page, Tenant};
use super::{Client, print};
use crate::cli::{TenantCommand, TenantCreateArgs, TenantLsArgs};
use crate::exit;

/// Runs one `bosun tenant` subcommand.
pub(crate) async fn tenant(command: TenantCommand) -> Result<u8> {
    match command {
        TenantCommand::Create(args) => create(args).await,
        TenantCommand::Ls(args) => list(args).await,
    }
}

async fn create(args: TenantCreateArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let body = json!({ "slug": args.tenant.slug, "name": args.tenant.name });
    let request = client
        .request(Method::POST, &["api", "tenants"])
        .json(&body);
    let answer = client.json::<CreatedTenant>(request).await?;
    if args.json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    eprintln!(
        "bosun: created tenant {:?} and its admin token (*), shown only this once:",
        text_or_dash(&answer.value.tenant.slug)
    );
    print(text_or_dash(&answer.value.token.secret))?;
    Ok(exit::SUCCESS)
}

async fn list(args: TenantLsArgs) -> Result<u8> {
    let client = Client::new(&args.client)?;
    let request = client.request(Method::GET, &["api", "tenants"]);
    let answer = client.json::<Page<Tenant>>(request).await?;
    if args.json {
        print(&answer.raw)?;
        return Ok(exit::SUCCESS);
    }
    let rows: Vec<[String; 3]> = answer
        .value
        .items
        .iter()
        .map(|t| [&t.slug, &t.name, &t.id].map(|text| text_or_dash(text).to_owned()))
        .collect();
    print(&crate::cmd::admin::columns(["SLUG", "NAME", "ID"], &rows))?;
    Ok(exit::SUCCESS)
}
