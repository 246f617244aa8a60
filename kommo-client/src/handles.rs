//! The handles: one per API resource, got from the client (`client.leads()`, ...). Each owns
//! a clone of the client (one `Arc`), so the streams it returns are `'static`.

use crate::client::Client;
use crate::common::EntityType;

impl Client {
    /// The account: `client.account().get(&[])` is the cheapest "who am I" call.
    #[must_use]
    pub fn account(&self) -> crate::account::AccountApi {
        crate::account::AccountApi {
            client: self.clone(),
        }
    }

    /// Leads.
    #[must_use]
    pub fn leads(&self) -> crate::leads::LeadsApi {
        crate::leads::LeadsApi {
            client: self.clone(),
        }
    }

    /// Contacts.
    #[must_use]
    pub fn contacts(&self) -> crate::contacts::ContactsApi {
        crate::contacts::ContactsApi {
            client: self.clone(),
        }
    }

    /// Chats linked to contacts (`/api/v4/contacts/chats`).
    #[must_use]
    pub fn contact_chats(&self) -> crate::contact_chats::ContactChatsApi {
        crate::contact_chats::ContactChatsApi {
            client: self.clone(),
        }
    }

    /// Companies.
    #[must_use]
    pub fn companies(&self) -> crate::companies::CompaniesApi {
        crate::companies::CompaniesApi {
            client: self.clone(),
        }
    }

    /// Pipelines and statuses.
    #[must_use]
    pub fn pipelines(&self) -> crate::pipelines::PipelinesApi {
        crate::pipelines::PipelinesApi {
            client: self.clone(),
        }
    }

    /// Custom field definitions and groups of an entity type (leads, contacts, companies,
    /// customers).
    #[must_use]
    pub fn custom_fields(&self, entity: EntityType) -> crate::custom_fields::CustomFieldsApi {
        crate::custom_fields::CustomFieldsApi {
            client: self.clone(),
            scope: entity.as_str().to_owned(),
        }
    }

    /// Custom field definitions of a catalog (`/api/v4/catalogs/{id}/custom_fields`).
    #[must_use]
    pub fn catalog_custom_fields(
        &self,
        catalog: crate::ids::CatalogId,
    ) -> crate::custom_fields::CustomFieldsApi {
        crate::custom_fields::CustomFieldsApi {
            client: self.clone(),
            scope: format!("catalogs/{catalog}"),
        }
    }

    /// Custom field definitions of customer segments
    /// (`/api/v4/customers/segments/custom_fields`).
    #[must_use]
    pub fn segment_custom_fields(&self) -> crate::custom_fields::CustomFieldsApi {
        crate::custom_fields::CustomFieldsApi {
            client: self.clone(),
            scope: "customers/segments".to_owned(),
        }
    }

    /// Notes on an entity type.
    #[must_use]
    pub fn notes(&self, entity: EntityType) -> crate::notes::NotesApi {
        crate::notes::NotesApi {
            client: self.clone(),
            entity,
        }
    }

    /// Tasks.
    #[must_use]
    pub fn tasks(&self) -> crate::tasks::TasksApi {
        crate::tasks::TasksApi {
            client: self.clone(),
        }
    }

    /// Tags.
    #[must_use]
    pub fn tags(&self) -> crate::tags::TagsApi {
        crate::tags::TagsApi {
            client: self.clone(),
        }
    }

    /// Entity links.
    #[must_use]
    pub fn links(&self) -> crate::links::LinksApi {
        crate::links::LinksApi {
            client: self.clone(),
        }
    }

    /// Users.
    #[must_use]
    pub fn users(&self) -> crate::users::UsersApi {
        crate::users::UsersApi {
            client: self.clone(),
        }
    }

    /// Webhook subscriptions (`/api/v4/webhooks`): which URLs Kommo posts events to. The
    /// events themselves are parsed by [`crate::webhooks`].
    #[must_use]
    pub fn webhook_subscriptions(&self) -> crate::webhook_subscriptions::WebhookSubscriptionsApi {
        crate::webhook_subscriptions::WebhookSubscriptionsApi {
            client: self.clone(),
        }
    }

    /// The events log (`/api/v4/events`).
    #[must_use]
    pub fn events(&self) -> crate::events::EventsApi {
        crate::events::EventsApi {
            client: self.clone(),
        }
    }

    /// Loss reasons of leads (`/api/v4/leads/loss_reasons`).
    #[must_use]
    pub fn loss_reasons(&self) -> crate::loss_reasons::LossReasonsApi {
        crate::loss_reasons::LossReasonsApi {
            client: self.clone(),
        }
    }

    /// User roles (`/api/v4/roles`).
    #[must_use]
    pub fn roles(&self) -> crate::roles::RolesApi {
        crate::roles::RolesApi {
            client: self.clone(),
        }
    }

    /// Currencies (`/api/v4/currencies`).
    #[must_use]
    pub fn currencies(&self) -> crate::currencies::CurrenciesApi {
        crate::currencies::CurrenciesApi {
            client: self.clone(),
        }
    }

    /// Lead sources (`/api/v4/sources`).
    #[must_use]
    pub fn sources(&self) -> crate::sources::SourcesApi {
        crate::sources::SourcesApi {
            client: self.clone(),
        }
    }

    /// Website buttons (`/api/v4/website_buttons`).
    #[must_use]
    pub fn website_buttons(&self) -> crate::website_buttons::WebsiteButtonsApi {
        crate::website_buttons::WebsiteButtonsApi {
            client: self.clone(),
        }
    }

    /// Widgets (`/api/v4/widgets`).
    #[must_use]
    pub fn widgets(&self) -> crate::widgets::WidgetsApi {
        crate::widgets::WidgetsApi {
            client: self.clone(),
        }
    }

    /// Short links (`/api/v4/short_links`).
    #[must_use]
    pub fn short_links(&self) -> crate::short_links::ShortLinksApi {
        crate::short_links::ShortLinksApi {
            client: self.clone(),
        }
    }

    /// Calls (`/api/v4/calls`).
    #[must_use]
    pub fn calls(&self) -> crate::calls::CallsApi {
        crate::calls::CallsApi {
            client: self.clone(),
        }
    }

    /// Followers of entities (`/api/v4/{entity}/{id}/subscriptions`).
    #[must_use]
    pub fn entity_subscriptions(&self) -> crate::entity_subscriptions::EntitySubscriptionsApi {
        crate::entity_subscriptions::EntitySubscriptionsApi {
            client: self.clone(),
        }
    }

    /// Files attached to entities (`/api/v4/{entity}/{id}/files`).
    #[must_use]
    pub fn entity_files(&self) -> crate::entity_files::EntityFilesApi {
        crate::entity_files::EntityFilesApi {
            client: self.clone(),
        }
    }

    /// Talks (`/api/v4/talks`).
    #[must_use]
    pub fn talks(&self) -> crate::talks::TalksApi {
        crate::talks::TalksApi {
            client: self.clone(),
        }
    }

    /// Chat templates (`/api/v4/chats/templates`).
    #[must_use]
    pub fn chat_templates(&self) -> crate::chat_templates::ChatTemplatesApi {
        crate::chat_templates::ChatTemplatesApi {
            client: self.clone(),
        }
    }

    /// Incoming leads (`/api/v4/leads/unsorted`).
    #[must_use]
    pub fn unsorted(&self) -> crate::unsorted::UnsortedApi {
        crate::unsorted::UnsortedApi {
            client: self.clone(),
        }
    }

    /// Catalogs (lists), including products (`/api/v4/catalogs`).
    #[must_use]
    pub fn catalogs(&self) -> crate::catalogs::CatalogsApi {
        crate::catalogs::CatalogsApi {
            client: self.clone(),
        }
    }

    /// The elements of a catalog (`/api/v4/catalogs/{id}/elements`).
    #[must_use]
    pub fn catalog_elements(
        &self,
        catalog: crate::ids::CatalogId,
    ) -> crate::catalogs::CatalogElementsApi {
        crate::catalogs::CatalogElementsApi {
            client: self.clone(),
            catalog,
        }
    }

    /// Customers, the recurring-revenue module (`/api/v4/customers`).
    #[must_use]
    pub fn customers(&self) -> crate::customers::CustomersApi {
        crate::customers::CustomersApi {
            client: self.clone(),
        }
    }

    /// Customer statuses (`/api/v4/customers/statuses`).
    #[must_use]
    pub fn customer_statuses(&self) -> crate::customers::statuses::CustomerStatusesApi {
        crate::customers::statuses::CustomerStatusesApi {
            client: self.clone(),
        }
    }

    /// Customer segments (`/api/v4/customers/segments`).
    #[must_use]
    pub fn customer_segments(&self) -> crate::customers::segments::SegmentsApi {
        crate::customers::segments::SegmentsApi {
            client: self.clone(),
        }
    }

    /// Customer transactions (`/api/v4/customers/transactions`).
    #[must_use]
    pub fn customer_transactions(&self) -> crate::customers::transactions::TransactionsApi {
        crate::customers::transactions::TransactionsApi {
            client: self.clone(),
        }
    }
}
