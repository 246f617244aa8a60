//! What templates see while planning one Kommo event for one contact, and the choice of the
//! contact's Loops email.

use crate::facts::{
    AccountFacts, CompanyFacts, ContactFacts, LeadFacts, PipelineFacts, Transition, coded_values,
    field_value,
};
use crate::rules::EmailChoice;
use crate::template::{Reference, Resolve};
use crate::value::Val;

#[derive(Debug, Clone, Copy)]
pub(crate) struct KommoContext<'a> {
    pub(crate) account: &'a AccountFacts,
    pub(crate) lead: Option<&'a LeadFacts>,
    pub(crate) transition: Option<&'a Transition>,
    pub(crate) contact: Option<&'a ContactFacts>,
    pub(crate) email: Option<&'a str>,
    pub(crate) company: Option<&'a CompanyFacts>,
    pub(crate) pipelines: Option<&'a [PipelineFacts]>,
}

impl KommoContext<'_> {
    /// The webhook wins for the transition itself; fetched data for everything else.
    fn status_id(&self) -> Option<u64> {
        self.transition
            .and_then(|t| t.status_id)
            .or(self.lead?.status_id)
    }

    fn pipeline_id(&self) -> Option<u64> {
        self.transition
            .and_then(|t| t.pipeline_id)
            .or(self.lead?.pipeline_id)
    }

    fn pipeline(&self) -> Option<&PipelineFacts> {
        let id = self.pipeline_id()?;
        self.pipelines?.iter().find(|p| p.id == id)
    }
}

fn text(s: &Option<String>) -> Option<Val> {
    s.as_deref().and_then(Val::text)
}

impl Resolve for KommoContext<'_> {
    fn resolve(&self, reference: &Reference) -> Option<Val> {
        match reference {
            Reference::LeadId => Some(Val::int(self.lead?.id)),
            Reference::LeadName => text(&self.lead?.name),
            Reference::LeadPrice => self.lead?.price.clone(),
            Reference::LeadStatusId => self.status_id().map(Val::int),
            Reference::LeadStatusName => {
                let status = self.status_id()?;
                self.pipeline()?
                    .statuses
                    .get(&status)
                    .and_then(|name| Val::text(name.as_str()))
            }
            Reference::LeadPipelineId => self.pipeline_id().map(Val::int),
            Reference::LeadPipelineName => text(&self.pipeline()?.name),
            Reference::LeadResponsibleUserId => self
                .transition
                .and_then(|t| t.responsible_user_id)
                .or(self.lead?.responsible_user_id)
                .map(Val::int),
            Reference::LeadField(key) => field_value(&self.lead?.fields, key),
            Reference::ContactId => Some(Val::int(self.contact?.id)),
            Reference::ContactName => text(&self.contact?.name),
            Reference::ContactFirstName => self.contact?.names().0.and_then(Val::text),
            Reference::ContactLastName => self.contact?.names().1.and_then(Val::text),
            Reference::ContactEmail => self.email.and_then(Val::text),
            Reference::ContactPhone => coded_values(&self.contact?.fields, "PHONE")
                .next()
                .and_then(|(phone, _)| Val::text(phone)),
            Reference::ContactField(key) => field_value(&self.contact?.fields, key),
            Reference::CompanyId => Some(Val::int(self.company?.id)),
            Reference::CompanyName => text(&self.company?.name),
            Reference::CompanyField(key) => field_value(&self.company?.fields, key),
            Reference::AccountId => self.account.id.map(Val::int),
            Reference::AccountSubdomain => text(&self.account.subdomain),
            Reference::LoopsEmail | Reference::LoopsEvent | Reference::LoopsUserId => None,
        }
    }
}

/// What templates see in a `[[loops]]` rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopsContext<'a> {
    pub(crate) email: Option<&'a str>,
    pub(crate) event: &'a str,
    pub(crate) user_id: Option<&'a str>,
}

impl Resolve for LoopsContext<'_> {
    fn resolve(&self, reference: &Reference) -> Option<Val> {
        match reference {
            Reference::LoopsEmail => self.email.and_then(Val::text),
            Reference::LoopsEvent => Val::text(self.event),
            Reference::LoopsUserId => self.user_id.and_then(Val::text),
            _ => None,
        }
    }
}

/// A loose plausibility check: one `@`, something before it, a dotted domain, no spaces.
/// Loops rejects what is not an email; skipping it here keeps the plan clean and explained.
pub(crate) fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && email.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && if email.is_ascii() {
            // The usual case, a byte at a time.
            !email.bytes().any(|b| {
                b.is_ascii_whitespace()
                    || b.is_ascii_control()
                    || matches!(b, b'<' | b'>' | b',' | b';' | b'"')
            })
        } else {
            !email.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
            })
        }
}

/// Picks the Loops email for a contact; `notes` say which addresses were skipped and why.
pub(crate) fn choose_email(
    contact: &ContactFacts,
    choice: EmailChoice,
    notes: &mut Vec<String>,
) -> Option<String> {
    // The first plausible email, and the first marked WORK; every implausible one is noted.
    let mut first = None;
    let mut work = None;
    for (email, code) in coded_values(&contact.fields, "EMAIL") {
        if !is_plausible_email(&email) {
            notes.push(format!(
                "contact {}: skipped {email:?}, not a plausible email",
                contact.id
            ));
        } else if work.is_none()
            && choice == EmailChoice::FirstWork
            && code.is_some_and(|c| c.eq_ignore_ascii_case("WORK"))
        {
            work = Some(email);
        } else if first.is_none() {
            first = Some(email);
        }
    }
    work.or(first).map(|email| email.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{FieldFact, FieldValueFact};

    fn contact_with(emails: &[(&str, Option<&str>)]) -> ContactFacts {
        ContactFacts {
            id: 7,
            fields: vec![FieldFact {
                id: 1,
                code: Some("EMAIL".into()),
                values: emails
                    .iter()
                    .map(|(e, code)| FieldValueFact {
                        value: Val::text(*e),
                        enum_code: code.map(str::to_owned),
                    })
                    .collect(),
            }],
            ..ContactFacts::default()
        }
    }

    #[test]
    fn email_choice_table() {
        type Row<'a> = (
            Vec<(&'a str, Option<&'a str>)>,
            EmailChoice,
            Option<&'a str>,
            usize,
        );
        let table: Vec<Row<'_>> = vec![
            (
                vec![("home@x.io", Some("PRIV")), ("work@x.io", Some("WORK"))],
                EmailChoice::FirstWork,
                Some("work@x.io"),
                0,
            ),
            (
                vec![("home@x.io", Some("PRIV")), ("work@x.io", Some("WORK"))],
                EmailChoice::First,
                Some("home@x.io"),
                0,
            ),
            // Webhooks carry only enum ids: no WORK mark, so the first.
            (
                vec![("a@x.io", None), ("b@x.io", None)],
                EmailChoice::FirstWork,
                Some("a@x.io"),
                0,
            ),
            (
                vec![("not an email", Some("WORK")), ("b@x.io", None)],
                EmailChoice::FirstWork,
                Some("b@x.io"),
                1,
            ),
            (vec![("nope", None)], EmailChoice::First, None, 1),
            (vec![], EmailChoice::FirstWork, None, 0),
        ];
        for (emails, choice, expected, skipped) in table {
            let mut notes = Vec::new();
            let got = choose_email(&contact_with(&emails), choice, &mut notes);
            assert_eq!(got.as_deref(), expected, "{emails:?} {choice:?}");
            assert_eq!(notes.len(), skipped, "{notes:?}");
        }
    }

    #[test]
    fn plausibility_table() {
        for (email, ok) in [
            ("ada@example.com", true),
            ("a+b@sub.example.co", true),
            ("ада@пример.рф", true),
            ("ada@localhost", false),
            ("@example.com", false),
            ("ada@@example.com", false),
            ("ada@example..com", false),
            ("ada @example.com", false),
            ("Ada <ada@example.com>", false),
            ("", false),
        ] {
            assert_eq!(is_plausible_email(email), ok, "{email}");
        }
    }
}
