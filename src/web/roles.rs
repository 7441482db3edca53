//! A route's minimum role, as a type in its handler's arguments: `auth: Authorized<Supervisor>`
//! authenticates the caller and refuses anyone below a supervisor (403) while the request's
//! head is read, before any later argument runs. axum extracts arguments in order and a body
//! extractor comes last, so a body is never read, let alone validated, for a caller who may
//! not send it: they get 403, never a 400 describing the body.
//!
//! Finer rules (a field only a manager may set, the agent acting on their own agent) are
//! checked after this, in the handler or in [`ActingFor`]; they never replace it.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use super::{ApiError, AppState, Auth};
use crate::users::Role;

/// A role a route needs at least, as a type (see the markers below).
pub(crate) trait MinimumRole {
    const ROLE: Role;
}

macro_rules! minimum_roles {
    ($($(#[$doc:meta])* $name:ident => $role:expr;)*) => {
        $(
            $(#[$doc])*
            pub(crate) struct $name;

            impl MinimumRole for $name {
                const ROLE: Role = $role;
            }
        )*
    };
}

minimum_roles! {
    /// Anyone signed in (every role ranks at least agent).
    Agent => Role::Agent;
    Supervisor => Role::Supervisor;
    Manager => Role::Manager;
    Admin => Role::Admin;
}

/// The caller, known to rank at least `R`. Reads as the [`Auth`] it wraps.
pub(crate) struct Authorized<R> {
    auth: Auth,
    minimum: PhantomData<R>,
}

impl<R> Deref for Authorized<R> {
    type Target = Auth;

    fn deref(&self) -> &Auth {
        &self.auth
    }
}

impl<R: MinimumRole> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Auth::from_request_parts(parts, state).await?;
        auth.require(R::ROLE)?;
        Ok(Authorized {
            auth,
            minimum: PhantomData,
        })
    }
}

/// The caller acting on the ACD agent named by the route's one path parameter
/// (`/api/agents/{name}/...`): that agent's own user (the same name), or a supervisor+ on
/// anyone's. Checked from the request's head, like [`Authorized`].
pub(crate) struct ActingFor {
    /// The ACD agent's name, from the path.
    pub agent: String,
}

impl FromRequestParts<AppState> for ActingFor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Auth::from_request_parts(parts, state).await?;
        let Path(agent) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                if rejection.status().is_server_error() {
                    ApiError::internal(&rejection.body_text())
                } else {
                    ApiError::bad_request(rejection.body_text())
                }
            })?;
        if auth.name != agent {
            auth.require(Role::Supervisor)?;
        }
        Ok(ActingFor { agent })
    }
}
