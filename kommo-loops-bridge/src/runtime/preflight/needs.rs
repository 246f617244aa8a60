//! What a rules file needs from the two accounts, read off the rules alone (pure): the
//! pipelines, stages and custom fields it names in Kommo, the contact properties,
//! transactional emails and mailing lists it uses in Loops, and the webhooks it listens to.

use std::collections::BTreeMap;

use kommo_client::webhook_subscriptions::WebhookSetting;

use crate::rules::{KommoAction, Rules};
use crate::template::{FieldKey, Reference, Shape, Template};
use crate::value::{Cast, Val};

/// The entity a custom field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FieldEntity {
    Lead,
    Contact,
    Company,
}

impl FieldEntity {
    pub(crate) fn name(self) -> &'static str {
        match self {
            FieldEntity::Lead => "lead",
            FieldEntity::Contact => "contact",
            FieldEntity::Company => "company",
        }
    }
}

/// The type of a Loops contact property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    String,
    Number,
    Boolean,
    Date,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
        }
    }

    fn of_cast(cast: Cast) -> Kind {
        match cast {
            Cast::Number => Kind::Number,
            Cast::String => Kind::String,
            Cast::Bool => Kind::Boolean,
            Cast::Date => Kind::Date,
        }
    }
}

/// The type a property value will have when it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Implied {
    Known(Kind),
    /// A custom field's own value: its type is the field's in Kommo.
    Field(FieldEntity, FieldKey),
}

/// A place in the rules file, as errors name it: `[[kommo]] "won": `do[2]...``.
pub(crate) type At = String;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldUse {
    pub(crate) at: At,
    pub(crate) entity: FieldEntity,
    pub(crate) key: FieldKey,
    pub(crate) cast: Option<Cast>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StageUse {
    pub(crate) at: At,
    pub(crate) id: u64,
    /// The rule's own pipelines, when it names some.
    pub(crate) pipelines: Option<Vec<u64>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransactionalUse {
    pub(crate) at: At,
    pub(crate) id: String,
    pub(crate) data: Vec<String>,
}

/// Everything the rules need, each with where the rules need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) pipelines: Vec<(At, u64)>,
    pub(crate) stages: Vec<StageUse>,
    pub(crate) fields: Vec<FieldUse>,
    /// Property name to its uses.
    pub(crate) properties: BTreeMap<String, Vec<(At, Implied)>>,
    pub(crate) transactional: Vec<TransactionalUse>,
    pub(crate) mailing_lists: Vec<(At, String)>,
    pub(crate) settings: Vec<WebhookSetting>,
    /// The Loops webhook events `[[loops]]` rules listen to.
    pub(crate) loops_events: Vec<String>,
}

impl Needs {
    /// Reads the needs off (resolved) rules.
    pub(crate) fn of(rules: &Rules) -> Needs {
        let inner = &rules.inner;
        let mut needs = Needs {
            settings: rules.kommo_webhook_settings(),
            ..Needs::default()
        };
        let contact = "[contact]".to_owned();
        for (name, template) in &inner.contact.properties {
            needs.property(&contact, &format!("properties.{name}"), name, template);
        }
        for list in inner.contact.mailing_lists.keys() {
            needs
                .mailing_lists
                .push((format!("{contact}: `mailing_lists.{list}`"), list.clone()));
        }
        if let Some(source) = &inner.contact.source {
            needs.fields_of(&contact, "source", source);
        }
        if let Some(user_group) = &inner.contact.user_group {
            needs.fields_of(&contact, "user_group", user_group);
        }
        if let Some(user_id) = &inner.identity.user_id {
            needs.fields_of("[identity]", "user_id", user_id);
        }

        for rule in &inner.kommo {
            let section = format!("[[kommo]] {:?}", &*rule.name);
            let when = &rule.when;
            for &id in when.pipelines.as_deref().unwrap_or_default() {
                needs
                    .pipelines
                    .push((format!("{section}: `when.pipeline`"), id));
            }
            for (key, ids) in [("when.to", &when.to), ("when.from", &when.from)] {
                for &id in ids.as_deref().unwrap_or_default() {
                    needs.stages.push(StageUse {
                        at: format!("{section}: `{key}`"),
                        id,
                        pipelines: when.pipelines.as_ref().map(|p| p.to_vec()),
                    });
                }
            }
            for condition in &when.conditions {
                if let Some((entity, key)) = field_of(&condition.reference) {
                    needs.fields.push(FieldUse {
                        at: format!("{section}: `when.where.{}`", condition.reference),
                        entity,
                        key,
                        cast: None,
                    });
                }
            }
            for (i, action) in rule.actions.iter().enumerate() {
                needs.action(&section, i, action);
            }
        }
        for rule in &inner.loops {
            for event in &rule.events {
                if !needs.loops_events.contains(event) {
                    needs.loops_events.push(event.clone());
                }
            }
        }
        needs
    }

    fn action(&mut self, section: &str, i: usize, action: &KommoAction) {
        let key = |rest: &str| format!("do[{i}].{rest}");
        match action {
            KommoAction::UpsertContact(spec) => {
                for (name, template) in &spec.properties {
                    let k = key(&format!("upsert_contact.properties.{name}"));
                    self.property(section, &k, name, template);
                }
                for list in spec.mailing_lists.keys() {
                    let k = key(&format!("upsert_contact.mailing_lists.{list}"));
                    self.mailing_lists
                        .push((format!("{section}: `{k}`"), list.clone()));
                }
                if let Some(source) = &spec.source {
                    self.fields_of(section, &key("upsert_contact.source"), source);
                }
                if let Some(user_group) = &spec.user_group {
                    self.fields_of(section, &key("upsert_contact.user_group"), user_group);
                }
            }
            KommoAction::SendEvent { properties, .. } => {
                for (name, template) in properties {
                    let k = key(&format!("send_event.properties.{name}"));
                    self.fields_of(section, &k, template);
                }
            }
            KommoAction::SendTransactional { id, data, .. } => {
                for (name, template) in data {
                    let k = key(&format!("send_transactional.data.{name}"));
                    self.fields_of(section, &k, template);
                }
                self.transactional.push(TransactionalUse {
                    at: format!("{section}: `{}`", key("send_transactional")),
                    id: id.to_string(),
                    data: data.keys().map(|name| name.to_string()).collect(),
                });
            }
        }
    }

    fn property(&mut self, section: &str, key: &str, name: &str, template: &Template) {
        let at = format!("{section}: `{key}`");
        self.properties
            .entry(name.to_owned())
            .or_default()
            .push((at, implied(template)));
        self.fields_of(section, key, template);
    }

    fn fields_of(&mut self, section: &str, key: &str, template: &Template) {
        for expr in template.expressions() {
            if let Some((entity, field)) = field_of(&expr.reference) {
                self.fields.push(FieldUse {
                    at: format!("{section}: `{key}`"),
                    entity,
                    key: field,
                    cast: expr.cast,
                });
            }
        }
    }
}

fn field_of(reference: &Reference) -> Option<(FieldEntity, FieldKey)> {
    match reference {
        Reference::LeadField(key) => Some((FieldEntity::Lead, key.clone())),
        Reference::ContactField(key) => Some((FieldEntity::Contact, key.clone())),
        Reference::CompanyField(key) => Some((FieldEntity::Company, key.clone())),
        _ => None,
    }
}

/// The type a template's value has when it reaches Loops.
pub(crate) fn implied(template: &Template) -> Implied {
    match template.shape() {
        Shape::Constant(Val::Number(_)) => Implied::Known(Kind::Number),
        Shape::Constant(Val::Bool(_)) => Implied::Known(Kind::Boolean),
        Shape::Constant(Val::Date(_)) => Implied::Known(Kind::Date),
        Shape::Constant(Val::Text(_)) | Shape::Text => Implied::Known(Kind::String),
        Shape::Lone(expr) => match (expr.cast, &expr.reference) {
            (Some(cast), _) => Implied::Known(Kind::of_cast(cast)),
            (None, reference) => match field_of(reference) {
                Some((entity, key)) => Implied::Field(entity, key),
                None => Implied::Known(reference_kind(reference)),
            },
        },
    }
}

/// The type of a built-in reference's value.
fn reference_kind(reference: &Reference) -> Kind {
    match reference {
        Reference::LeadId
        | Reference::LeadPrice
        | Reference::LeadStatusId
        | Reference::LeadPipelineId
        | Reference::LeadResponsibleUserId
        | Reference::ContactId
        | Reference::CompanyId
        | Reference::AccountId => Kind::Number,
        _ => Kind::String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_types_table() {
        let table = [
            ("{lead.price}", Implied::Known(Kind::Number)),
            ("{lead.name}", Implied::Known(Kind::String)),
            ("Deal {lead.price}", Implied::Known(Kind::String)),
            ("{lead.cf.912345:number}", Implied::Known(Kind::Number)),
            ("{lead.cf.DUE:date}", Implied::Known(Kind::Date)),
            ("{lead.price:string}", Implied::Known(Kind::String)),
            ("{contact.cf.VIP:bool}", Implied::Known(Kind::Boolean)),
            (
                "{lead.cf.PLAN}",
                Implied::Field(FieldEntity::Lead, FieldKey::Code("PLAN".into())),
            ),
            (
                "{company.cf.77}",
                Implied::Field(FieldEntity::Company, FieldKey::Id(77)),
            ),
            ("{account.id}", Implied::Known(Kind::Number)),
        ];
        for (text, expected) in table {
            let template = Template::parse(text, crate::template::Scope::Kommo).unwrap();
            assert_eq!(implied(&template), expected, "{text}");
        }
        assert_eq!(
            implied(&Template::constant(Val::Bool(true))),
            Implied::Known(Kind::Boolean)
        );
    }

    #[test]
    fn the_onboarding_rules_need() {
        let rules = Rules::from_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/rules/saas-onboarding.toml"
        ))
        .unwrap();
        let needs = Needs::of(&rules);
        assert_eq!(
            needs.properties.keys().collect::<Vec<_>>(),
            ["companyName", "kommoPipeline", "kommoStage", "plan"]
        );
        assert_eq!(
            needs.properties["plan"][0],
            (
                r#"[[kommo]] "trial": `do[0].upsert_contact.properties.plan`"#.to_owned(),
                Implied::Field(FieldEntity::Lead, FieldKey::Code("PLAN".into()))
            )
        );
        assert_eq!(needs.pipelines.len(), 2);
        let stages: Vec<u64> = needs.stages.iter().map(|s| s.id).collect();
        // `upgrade` goes from 5002 to 5003.
        assert_eq!(stages, [5001, 5002, 5003, 5002, 142, 143]);
        assert_eq!(needs.transactional.len(), 1);
        assert_eq!(needs.transactional[0].data, ["company", "name"]);
        let cast: Vec<_> = needs
            .fields
            .iter()
            .filter(|f| f.cast.is_some())
            .map(|f| f.at.as_str())
            .collect();
        assert_eq!(
            cast,
            [r#"[[kommo]] "trial": `do[1].send_event.properties.trial_days`"#]
        );
        assert_eq!(
            needs.loops_events,
            [
                "email.hardBounced",
                "contact.unsubscribed",
                "email.unsubscribed",
                "email.spamReported"
            ]
        );
    }
}
