//! The demo's database: its own (`data/switchdesk-demo.db` unless `demo --database` names
//! another), never the configured one; it seeds only a database that is empty or that an
//! earlier demo made, and says why it refuses any other.

use crate::config::Config;
use crate::directory::model::Contact;
use crate::service::describe_database;
use crate::store::Store;

use super::DEMO_USER;

/// Where the demo keeps its fake contact center unless `demo --database` names another.
pub const DEMO_DATABASE: &str = "sqlite://data/switchdesk-demo.db";

/// The demo seeds a fake contact center (its admin, 2,000 contacts, fees, synthetic calls):
/// only into a database that is empty or that an earlier demo made.
pub(super) async fn refuse_foreign_database(store: &Store, config: &Config) -> anyhow::Result<()> {
    let foreign: Vec<String> = store
        .list_users()
        .await?
        .into_iter()
        .map(|user| user.name)
        .filter(|name| name != DEMO_USER)
        .collect();
    let demo_made = store.user_by_name(DEMO_USER).await?.is_some();
    let contacts = store.count_records::<Contact>().await?;
    let why = if !foreign.is_empty() {
        format!(
            "it has users the demo did not create ({})",
            foreign.join(", ")
        )
    } else if !demo_made && contacts > 0 {
        format!("it holds {contacts} contacts the demo did not create")
    } else {
        return Ok(());
    };
    anyhow::bail!(
        "the demo will not seed {}: {why}. It runs on a database of its own ({DEMO_DATABASE} \
         by default); give `demo --database URL` an empty one",
        describe_database(config.database.url.expose())
    )
}
