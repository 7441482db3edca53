//! Who is calling, for the agent whose phone rings: the caller as the switch gave them, the
//! phone book's identification, the open incidents of their organization (first), the contact
//! and organization with their assets, the caller's open tickets and their last calls.

use serde::Serialize;

use crate::cdr::CallRecord;
use crate::directory::model::{Asset, Contact, Organization, Owner};
use crate::directory::PhoneBook;
use crate::incidents::Incident;
use crate::store::{CallFilter, Store, StoreError, TicketFilter};
use crate::switch::{Board, BoardError, Identity};
use crate::tickets::Ticket;

/// How many of the caller's last calls the pop-up shows.
const RECENT_CALLS: u32 = 5;

#[derive(Clone, Debug, Serialize)]
pub struct Caller {
    /// As the switch sent it.
    pub number: String,
    /// As the screens show it (`[phonebook] number_style`).
    pub number_shown: String,
    pub name: String,
}

/// What the agent sees while the phone rings: the live feed's `popup` frame (with `type` and
/// `at` added) and `GET /api/agents/{name}/popup` alike.
#[derive(Clone, Debug, Serialize)]
pub struct Popup {
    /// The open incidents of the caller's organization, newest first: shown before
    /// anything else (the caller most likely calls about one).
    pub incidents: Vec<Incident>,
    /// The caller's call (channel UUID), as the agent's `call`.
    pub call: String,
    pub caller: Caller,
    pub identity: Option<Identity>,
    pub contact: Option<Contact>,
    pub organization: Option<Organization>,
    pub assets: Vec<Asset>,
    pub open_tickets: Vec<Ticket>,
    pub recent_calls: Vec<CallRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum PopupError {
    #[error(transparent)]
    Board(#[from] BoardError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Popup {
    pub async fn gather(
        board: &Board,
        store: &Store,
        phonebook: &PhoneBook,
        call: &str,
    ) -> Result<Popup, PopupError> {
        let caller = board.caller(call).await?;
        let identity = board.identities().await?.remove(call);
        let number = caller
            .as_ref()
            .map(|c| c.number.clone())
            .unwrap_or_default();
        let caller = Caller {
            number_shown: phonebook.numbering().shown(&number),
            number,
            name: caller.map(|c| c.name).unwrap_or_default(),
        };
        let e164 = identity
            .as_ref()
            .and_then(|i| i.e164.clone())
            .or_else(|| phonebook.numbering().normalize(&caller.number).ok());
        let contact_id = identity
            .as_ref()
            .and_then(|i| i.contact.as_ref())
            .map(|c| c.id);
        let organization_id = identity
            .as_ref()
            .and_then(|i| i.organization.as_ref())
            .map(|o| o.id);
        let contact = match contact_id {
            Some(id) => store.find_record::<Contact>(id).await?,
            None => None,
        };
        let organization = match organization_id {
            Some(id) => store.find_record::<Organization>(id).await?,
            None => None,
        };
        let incidents = match organization_id {
            Some(id) => store.open_incidents_of(id).await?,
            None => Vec::new(),
        };
        let mut assets = Vec::new();
        if let Some(id) = contact_id {
            assets.extend(store.assets_of(Owner::Contact(id)).await?);
        }
        if let Some(id) = organization_id {
            assets.extend(store.assets_of(Owner::Organization(id)).await?);
        }
        // The caller's own tickets and calls: by contact when known, else by number.
        let by_number = || e164.clone().or_else(|| Some(caller.number.clone()));
        let open_tickets = store
            .tickets(&TicketFilter {
                status: Some("open".into()),
                contact_id,
                caller_number: contact_id.is_none().then(by_number).flatten(),
                limit: Some(20),
                ..TicketFilter::default()
            })
            .await?;
        let recent_calls = store
            .calls(&CallFilter {
                contact_id,
                caller_number: contact_id.is_none().then(by_number).flatten(),
                limit: Some(RECENT_CALLS),
                ..CallFilter::default()
            })
            .await?;
        Ok(Popup {
            incidents,
            call: call.to_owned(),
            caller,
            identity,
            contact,
            organization,
            assets,
            open_tickets,
            recent_calls,
        })
    }
}
