//! What the demo puts in its database before the service starts: its admin with a known
//! password, its agents on duty at a plainly stated rate, and (once, into an empty book) a
//! generated phone book whose organizations pay their sample monthly fees; and the regular
//! callers of the synthetic day, taken from that book.

use std::collections::HashMap;

use crate::acd::AgentStatus;
use crate::config::Config;
use crate::directory::model::{Contact, Number, NumberKind, Organization};
use crate::directory::sample;
use crate::service::open_store;
use crate::store::Store;
use crate::users::{self, Role};

use super::database::refuse_foreign_database;
use super::DEMO_USER;

/// What an hour of a demo agent costs, in cents (an agent with a rate keeps it).
const DEMO_HOURLY_RATE_CENTS: i64 = 3_600;

/// Organizations and contacts of the demo's phone book (made once, on an empty book).
const DEMO_ORGANIZATIONS: usize = 40;
const DEMO_CONTACTS: usize = 2_000;
/// Contacts saved per call to the store.
const CONTACTS_PER_BATCH: usize = 500;
/// How many of them call the demo's support line again and again.
const DEMO_REGULARS: u32 = 150;

/// Makes sure the demo user exists with a known password (`demo.password`, or a fresh one),
/// the demo agents are on duty and the phone book is filled, in a database the demo may
/// seed; returns the password and the regular callers (number, name).
pub(super) async fn prepare(
    config: &Config,
    seed: u64,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let password = match config.demo.password.expose() {
        "" => users::generate_password(),
        chosen => chosen.to_owned(),
    };
    let store = open_store(config).await?;
    let prepared = match refuse_foreign_database(&store, config).await {
        Ok(()) => prepare_store(&store, config, &password, seed).await,
        Err(refused) => Err(refused),
    };
    store.close().await;
    Ok((password, prepared?))
}

/// The demo's agents on duty, its user with `password`, and its phone book; returns the
/// phone book's regular callers.
async fn prepare_store(
    store: &Store,
    config: &Config,
    password: &str,
    seed: u64,
) -> anyhow::Result<Vec<(String, String)>> {
    let rated: Vec<String> = store
        .agent_rates()
        .await?
        .into_iter()
        .map(|(agent, _)| agent)
        .collect();
    for agent in &config.agents {
        store.seed_agent(agent).await?;
        if !rated.contains(&agent.name) {
            store
                .set_agent_rate(&agent.name, DEMO_HOURLY_RATE_CENTS)
                .await?;
        }
        store
            .save_agent_state(&agent.name, &AgentStatus::Available, 0, 0)
            .await?;
    }
    match store.user_by_name(DEMO_USER).await? {
        Some(_) => users::set_password(store, DEMO_USER, password).await?,
        None => drop(users::add_user(store, DEMO_USER, Role::Admin, password).await?),
    }
    if store.count_records::<Contact>().await? == 0 {
        fill_phonebook(store, seed).await?;
    }
    regulars(store).await
}

/// A generated phone book: its organizations (with their DID blocks and sample monthly fees,
/// so the profitability report has margins), then its contacts, placed in them by name.
async fn fill_phonebook(store: &Store, seed: u64) -> anyhow::Result<()> {
    let mut organization_ids = HashMap::new();
    for organization in sample::organizations(seed, DEMO_ORGANIZATIONS) {
        let numbers = organization
            .numbers
            .iter()
            .map(|n| (n, NumberKind::Main))
            .chain(organization.ranges.iter().map(|r| (r, NumberKind::Range)))
            .map(|(number, kind)| Number {
                number: number.clone(),
                kind,
            })
            .collect();
        let id = store
            .save_record(&Organization {
                name: organization.name.clone(),
                numbers,
                vip: organization.vip,
                ..Default::default()
            })
            .await?;
        store
            .set_organization_fee(id, organization.monthly_fee_cents)
            .await?;
        organization_ids.insert(organization.name, id);
    }
    let contacts: Vec<Contact> = sample::contacts(seed, DEMO_CONTACTS)
        .map(|c| Contact {
            organization_id: c
                .organization
                .as_ref()
                .and_then(|name| organization_ids.get(name).copied()),
            first_name: match &c.middle_name {
                Some(middle) => format!("{} {middle}", c.first_name),
                None => c.first_name.clone(),
            },
            last_name: c.last_name.clone(),
            numbers: c
                .numbers
                .iter()
                .map(|n| Number {
                    number: n.clone(),
                    kind: NumberKind::Mobile,
                })
                .collect(),
            emails: c.email.iter().cloned().collect(),
            vip: c.vip,
            ..Default::default()
        })
        .collect();
    for batch in contacts.chunks(CONTACTS_PER_BATCH) {
        store.save_records(batch).await?;
    }
    Ok(())
}

/// The book's regular callers (number, name): business customers, people the book places
/// in an organization.
async fn regulars(store: &Store) -> anyhow::Result<Vec<(String, String)>> {
    let regulars = store
        .records_after::<Contact>(0, DEMO_REGULARS * 4)
        .await?
        .into_iter()
        .filter(|c| c.organization_id.is_some())
        .take(DEMO_REGULARS as usize)
        .filter_map(|c| {
            let number = c.numbers.first()?.number.clone();
            Some((number, c.display_name()))
        })
        .collect();
    Ok(regulars)
}
