//! The Kommo webhook subscription the rules need: from the rules' event names (`lead_status`)
//! to Kommo's subscription settings (`status_lead`).

use kommo_client::webhook_subscriptions::WebhookSetting;

use super::Rules;

/// The setting that makes Kommo send a rule event. `contact_updated` needs `update_contact`
/// only: a responsible change arrives as `contacts[update]` too when `responsible_contact` is
/// subscribed, but no reference reads a contact's responsible user, so it would plan nothing
/// new.
pub(crate) fn setting_of(event: &str) -> Option<WebhookSetting> {
    use WebhookSetting as S;
    Some(match event {
        "lead_added" => S::AddLead,
        "lead_updated" => S::UpdateLead,
        "lead_status" => S::StatusLead,
        "lead_responsible" => S::ResponsibleLead,
        "lead_deleted" => S::DeleteLead,
        "lead_restored" => S::RestoreLead,
        "contact_added" => S::AddContact,
        "contact_updated" => S::UpdateContact,
        "contact_deleted" => S::DeleteContact,
        "contact_restored" => S::RestoreContact,
        "company_added" => S::AddCompany,
        "company_updated" => S::UpdateCompany,
        "company_deleted" => S::DeleteCompany,
        "company_restored" => S::RestoreCompany,
        _ => return None,
    })
}

impl Rules {
    /// Exactly the Kommo webhook settings to subscribe to, so that every event some
    /// `[[kommo]]` rule listens to is delivered and nothing else is (in the order Kommo's
    /// settings page lists them). Pass them to
    /// `kommo_client::webhook_subscriptions::Subscribe::new(url, settings)`.
    ///
    /// ```
    /// use kommo_client::webhook_subscriptions::WebhookSetting;
    /// use kommo_loops_bridge::Rules;
    ///
    /// let rules = Rules::from_toml_str("rules.toml", r#"
    ///     [[kommo]]
    ///     name = "won"
    ///     when = { event = "lead_status", to = "won" }
    ///     do = [ { send_event = { event = "deal_won" } } ]
    ///
    ///     [[kommo]]
    ///     name = "new lead"
    ///     when = { event = "lead_added" }
    ///     do = [ { upsert_contact = {} } ]
    /// "#).unwrap();
    /// assert_eq!(rules.kommo_events(), ["lead_added", "lead_status"]);
    /// assert_eq!(
    ///     rules.kommo_webhook_settings(),
    ///     [WebhookSetting::AddLead, WebhookSetting::StatusLead]
    /// );
    /// ```
    pub fn kommo_webhook_settings(&self) -> Vec<WebhookSetting> {
        let wanted: Vec<WebhookSetting> = self
            .kommo_events()
            .into_iter()
            .filter_map(setting_of)
            .collect();
        WebhookSetting::known()
            .iter()
            .filter(|s| wanted.contains(s))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::KOMMO_EVENTS;

    #[test]
    fn every_rule_event_has_a_known_setting_of_the_same_words() {
        for event in KOMMO_EVENTS {
            let setting = setting_of(event).unwrap_or_else(|| panic!("{event}"));
            assert!(WebhookSetting::known().contains(&setting), "{event}");
            // `lead_status` ↔ `status_lead`; `lead_added` ↔ `add_lead`.
            let (entity, action) = event.split_once('_').unwrap();
            assert!(
                setting.as_str().ends_with(entity) && setting.as_str().starts_with(&action[..3]),
                "{event} -> {setting}"
            );
        }
    }
}
