//! From `kommo-client` types (API models and webhook entities) to the engine's facts.

use kommo_client::companies::Company;
use kommo_client::contacts::Contact;
use kommo_client::field_values::{CustomFields, FieldValue};
use kommo_client::leads::Lead;
use kommo_client::pipelines::Pipeline;
use kommo_client::webhooks::{
    EventKind, WebhookContact, WebhookCustomField, WebhookEntity, WebhookLead, WebhookPayload,
};

use super::{
    AccountFacts, CompanyFacts, ContactFacts, FieldFact, FieldValueFact, LeadFacts, PipelineFacts,
    Transition,
};
use crate::engine::{KommoDelivery, KommoEvent, Subject};
use crate::snapshot::Snapshot;
use crate::value::Val;

fn api_fields(fields: &CustomFields) -> Vec<FieldFact> {
    fields
        .iter()
        .map(|field| FieldFact {
            id: field.field_id.0,
            code: field.field_code.clone(),
            values: field
                .values
                .iter()
                .map(|value| {
                    let (value, enum_code) = match value {
                        FieldValue::Text(s) | FieldValue::Textarea(s) | FieldValue::Url(s) => {
                            (Val::text(s.as_str()), None)
                        }
                        FieldValue::Numeric(n) => (Val::float(*n), None),
                        FieldValue::Checkbox(b) => (Some(Val::Bool(*b)), None),
                        // Date fields keep their type: a lone reference sends a Loops date.
                        FieldValue::Date(t) | FieldValue::DateTime(t) => {
                            (Some(Val::Date(t.saturating_mul(1000))), None)
                        }
                        FieldValue::Enum {
                            value, enum_code, ..
                        } => (value.as_deref().and_then(Val::text), enum_code.clone()),
                        FieldValue::Multitext {
                            value, enum_code, ..
                        } => (Val::text(value.as_str()), enum_code.clone()),
                        other => (
                            other.as_text().and_then(Val::text),
                            other.enum_code().map(str::to_owned),
                        ),
                    };
                    FieldValueFact { value, enum_code }
                })
                .collect(),
        })
        .collect()
}

fn webhook_fields(fields: &[WebhookCustomField]) -> Vec<FieldFact> {
    fields
        .iter()
        .filter_map(|field| {
            Some(FieldFact {
                id: field.id?.0,
                code: field.code.clone(),
                values: field
                    .values
                    .iter()
                    .map(|v| FieldValueFact {
                        // Webhooks send every value as text; casts in templates convert.
                        value: Val::text(v.value.as_str()),
                        enum_code: v.enum_code.clone(),
                    })
                    .collect(),
            })
        })
        .collect()
}

impl From<&Lead> for LeadFacts {
    fn from(lead: &Lead) -> Self {
        LeadFacts {
            id: lead.id.0,
            name: lead.name.clone(),
            price: lead.price.and_then(Val::float),
            status_id: lead.status_id.map(|s| s.0),
            pipeline_id: lead.pipeline_id.map(|p| p.0),
            responsible_user_id: lead.responsible_user_id.map(|u| u.0),
            fields: api_fields(&lead.custom_fields_values),
            contacts: lead
                .embedded
                .contacts
                .iter()
                .map(|c| (c.id.0, c.is_main.unwrap_or(false)))
                .collect(),
            company_id: lead.embedded.companies.first().map(|c| c.id.0),
            updated_at: lead.updated_at,
        }
    }
}

impl From<&Contact> for ContactFacts {
    fn from(contact: &Contact) -> Self {
        ContactFacts {
            id: contact.id.0,
            name: contact.name.clone(),
            first_name: contact.first_name.clone(),
            last_name: contact.last_name.clone(),
            fields: api_fields(&contact.custom_fields_values),
            company_id: contact.embedded.companies.first().map(|c| c.id.0),
            updated_at: contact.updated_at,
        }
    }
}

impl From<&Company> for CompanyFacts {
    fn from(company: &Company) -> Self {
        CompanyFacts {
            id: company.id.0,
            name: company.name.clone(),
            fields: api_fields(&company.custom_fields_values),
            contacts: company.embedded.contacts.iter().map(|c| c.id).collect(),
        }
    }
}

impl From<&Pipeline> for PipelineFacts {
    fn from(pipeline: &Pipeline) -> Self {
        PipelineFacts {
            id: pipeline.id.0,
            name: Some(pipeline.name.clone()).filter(|n| !n.is_empty()),
            statuses: pipeline
                .embedded
                .statuses
                .iter()
                .map(|s| (s.id.0, s.name.clone()))
                .collect(),
        }
    }
}

fn webhook_lead(lead: &WebhookLead, id: u64) -> LeadFacts {
    LeadFacts {
        id,
        name: lead.name.clone(),
        price: lead.price.and_then(Val::float),
        status_id: lead.status_id.map(|s| s.0),
        pipeline_id: lead.pipeline_id.map(|p| p.0),
        responsible_user_id: lead.responsible_user_id.map(|u| u.0),
        fields: webhook_fields(&lead.custom_fields),
        contacts: Vec::new(),
        company_id: None,
        updated_at: lead.updated_at.or(lead.last_modified),
    }
}

fn webhook_contact(contact: &WebhookContact, id: u64) -> ContactFacts {
    ContactFacts {
        id,
        name: contact.name.clone(),
        first_name: contact.first_name.clone(),
        last_name: contact.last_name.clone(),
        fields: webhook_fields(&contact.custom_fields),
        company_id: contact.linked_company_id.map(|c| c.0),
        updated_at: contact.updated_at.or(contact.last_modified),
    }
}

/// The rule event name for a webhook event kind, or why rules do not see it.
fn rule_event(kind: &EventKind) -> Result<&'static str, String> {
    Ok(match kind {
        EventKind::LeadAdded => "lead_added",
        EventKind::LeadUpdated => "lead_updated",
        EventKind::LeadStatusChanged => "lead_status",
        EventKind::LeadResponsibleChanged => "lead_responsible",
        EventKind::LeadDeleted => "lead_deleted",
        EventKind::LeadRestored => "lead_restored",
        EventKind::ContactAdded => "contact_added",
        EventKind::ContactUpdated | EventKind::ContactResponsibleChanged => "contact_updated",
        EventKind::ContactDeleted => "contact_deleted",
        EventKind::ContactRestored => "contact_restored",
        EventKind::CompanyAdded => "company_added",
        EventKind::CompanyUpdated | EventKind::CompanyResponsibleChanged => "company_updated",
        EventKind::CompanyDeleted => "company_deleted",
        EventKind::CompanyRestored => "company_restored",
        kind if kind.is_note() => {
            return Err(format!(
                "{}[{}]: notes are not rule events (the bridge's own notes come back this way)",
                kind.group(),
                kind.action()
            ));
        }
        other => {
            return Err(format!(
                "{}[{}]: not an event rules can listen to",
                other.group(),
                other.action()
            ));
        }
    })
}

pub(crate) fn delivery_from_payload(payload: &WebhookPayload) -> KommoDelivery {
    let account = AccountFacts {
        id: payload.account.id.map(|a| a.0),
        subdomain: payload.account.subdomain.clone(),
    };
    let events = payload
        .events
        .iter()
        .map(|event| {
            let name = rule_event(&event.kind)?;
            let missing_id = || format!("{name}: the webhook entity has no id");
            let (subject, transition, changed_at) = match &event.entity {
                WebhookEntity::Lead(lead) => {
                    let id = lead.id.map(|i| i.0).ok_or_else(missing_id)?;
                    let transition = Transition {
                        status_id: lead.status_id.map(|s| s.0),
                        old_status_id: lead.old_status_id.map(|s| s.0),
                        pipeline_id: lead.pipeline_id.map(|p| p.0),
                        old_pipeline_id: lead.old_pipeline_id.map(|p| p.0),
                        responsible_user_id: lead.responsible_user_id.map(|u| u.0),
                        old_responsible_user_id: lead.old_responsible_user_id.map(|u| u.0),
                    };
                    let changed_at = lead.updated_at.or(lead.last_modified);
                    (
                        Subject::Lead(webhook_lead(lead, id)),
                        transition,
                        changed_at,
                    )
                }
                WebhookEntity::Contact(contact) | WebhookEntity::Company(contact) => {
                    let id = contact.id.ok_or_else(missing_id)?;
                    let transition = Transition {
                        responsible_user_id: contact.responsible_user_id.map(|u| u.0),
                        old_responsible_user_id: contact.old_responsible_user_id.map(|u| u.0),
                        ..Transition::default()
                    };
                    let changed_at = contact.updated_at.or(contact.last_modified);
                    let subject = if name.starts_with("company_") {
                        Subject::Company(CompanyFacts {
                            id,
                            name: contact.name.clone(),
                            fields: webhook_fields(&contact.custom_fields),
                            contacts: Vec::new(),
                        })
                    } else {
                        Subject::Contact(webhook_contact(contact, id))
                    };
                    (subject, transition, changed_at)
                }
                _ => return Err(format!("{name}: the webhook carries no entity")),
            };
            Ok(KommoEvent {
                name,
                subject,
                transition,
                changed_at,
            })
        })
        .collect();
    KommoDelivery { account, events }
}

impl Snapshot {
    /// Adds a lead as `GET /api/v4/leads/{id}?with=contacts` returns it.
    pub fn add_lead(&mut self, lead: &Lead) {
        self.leads.insert(lead.id.0, lead.into());
    }

    /// Adds a contact as `GET /api/v4/contacts/{id}` returns it.
    pub fn add_contact(&mut self, contact: &Contact) {
        self.contacts.insert(contact.id.0, contact.into());
    }

    /// Adds a company as `GET /api/v4/companies/{id}?with=contacts` returns it.
    pub fn add_company(&mut self, company: &Company) {
        self.companies.insert(company.id.0, company.into());
    }

    /// Sets the pipelines (with their `_embedded.statuses`), for stage and pipeline names.
    pub fn set_pipelines(&mut self, pipelines: &[Pipeline]) {
        self.pipelines = Some(pipelines.iter().map(PipelineFacts::from).collect());
    }
}
