//! What a caller may see and use: the scopes each item declares (or the server's default),
//! then the application's own rule. Enforced in one place, the dispatch, for every
//! transport; lists leave out what the caller may not use.

use std::sync::Arc;

use super::principal::Principal;
use super::{Access, AuthorizeFn};
use crate::protocol::{ErrorObject, code};

/// The server's authorization settings.
#[derive(Clone, Default)]
pub(crate) struct Policy {
    /// The scopes an item needs when it declares none.
    pub(crate) default_scopes: Vec<&'static str>,
    pub(crate) authorize: Option<Arc<AuthorizeFn>>,
}

impl Policy {
    /// The first scope `principal` lacks for an item declaring `scopes`.
    pub(crate) fn missing(
        &self,
        principal: &Principal,
        scopes: Option<&'static [&'static str]>,
    ) -> Option<&'static str> {
        if principal.has_every_scope() {
            return None;
        }
        principal.missing_scope(scopes.unwrap_or(&self.default_scopes))
    }

    /// Whether `principal` sees an item declaring `scopes` in a list.
    pub(crate) fn visible(
        &self,
        principal: &Principal,
        scopes: Option<&'static [&'static str]>,
    ) -> bool {
        self.missing(principal, scopes).is_none()
    }

    /// Whether `principal` may use `kind` `name` (`tool`, `add`): its scopes, then the
    /// application's rule. The error names what is missing.
    pub(crate) fn check(
        &self,
        principal: &Principal,
        (kind, name): (&str, &str),
        scopes: Option<&'static [&'static str]>,
        access: Access<'_>,
    ) -> Result<(), ErrorObject> {
        if let Some(scope) = self.missing(principal, scopes) {
            return Err(insufficient_scope(&format!("{kind} `{name}`"), scope));
        }
        if let Some(rule) = &self.authorize
            && let Err(why) = rule(principal, &access)
        {
            let what = format!("{kind} `{name}`");
            let what = what.as_str();
            tracing::info!(
                subject = ?principal.subject(),
                what,
                reason = ?why,
                "refused by the server's authorization rule"
            );
            return Err(ErrorObject::new(
                code::FORBIDDEN,
                format!("Forbidden: {what}: {why}"),
            ));
        }
        Ok(())
    }

    /// Every scope the items in `scopes` and the default name, sorted, for the metadata.
    pub(crate) fn declared<'a>(
        &self,
        scopes: impl Iterator<Item = Option<&'a [&'a str]>>,
    ) -> Vec<String> {
        let mut all: Vec<String> = self.default_scopes.iter().map(|s| s.to_string()).collect();
        for s in scopes.flatten() {
            all.extend(s.iter().map(|s| s.to_string()));
        }
        all.sort();
        all.dedup();
        all
    }
}

/// The error of a call the caller lacks `scope` for; `data.requiredScope` names it (the
/// HTTP transport answers `403` with a step-up challenge instead).
pub(crate) fn insufficient_scope(what: &str, scope: &str) -> ErrorObject {
    ErrorObject::new(
        code::FORBIDDEN,
        format!("Forbidden: {what} needs the scope `{scope}`, which the caller does not hold"),
    )
    .with_data(serde_json::json!({ "requiredScope": scope }))
}
