//! Templates: `"{lead.name}"`, `"{lead.cf.912345:number}"`, `"Deal {lead.name} won"`.
//!
//! A string that is exactly one reference keeps the value's type (a price stays a number) or
//! takes the cast it names; anything else is text. `{{` and `}}` are literal braces.

use std::fmt;

use crate::value::{Cast, Val};

/// A custom field, by numeric id or by code (`PHONE`, `EMAIL`, or a code set on the field).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum FieldKey {
    Id(u64),
    Code(String),
}

impl fmt::Display for FieldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldKey::Id(id) => write!(f, "{id}"),
            FieldKey::Code(code) => f.write_str(code),
        }
    }
}

/// Which side a rule is on; it decides which references make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Kommo,
    Loops,
}

/// One reference a template can make.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Reference {
    LeadId,
    LeadName,
    LeadPrice,
    LeadStatusId,
    LeadStatusName,
    LeadPipelineId,
    LeadPipelineName,
    LeadResponsibleUserId,
    LeadField(FieldKey),
    ContactId,
    ContactName,
    ContactFirstName,
    ContactLastName,
    ContactEmail,
    ContactPhone,
    ContactField(FieldKey),
    CompanyId,
    CompanyName,
    CompanyField(FieldKey),
    AccountId,
    AccountSubdomain,
    /// `email` in `[[loops]]` rules: the contact's email from the Loops event.
    LoopsEmail,
    /// `event`: the Loops event name.
    LoopsEvent,
    /// `user_id`: the contact's userId from the Loops event.
    LoopsUserId,
}

impl Reference {
    pub(crate) fn parse(text: &str, scope: Scope) -> Result<Reference, String> {
        let known = match scope {
            Scope::Kommo => "lead.*, contact.*, company.* or account.*",
            Scope::Loops => "email, event or user_id",
        };
        let reference = match text {
            "lead.id" => Reference::LeadId,
            "lead.name" => Reference::LeadName,
            "lead.price" => Reference::LeadPrice,
            "lead.status_id" => Reference::LeadStatusId,
            "lead.status_name" => Reference::LeadStatusName,
            "lead.pipeline_id" => Reference::LeadPipelineId,
            "lead.pipeline_name" => Reference::LeadPipelineName,
            "lead.responsible_user_id" => Reference::LeadResponsibleUserId,
            "contact.id" => Reference::ContactId,
            "contact.name" => Reference::ContactName,
            "contact.first_name" => Reference::ContactFirstName,
            "contact.last_name" => Reference::ContactLastName,
            "contact.email" => Reference::ContactEmail,
            "contact.phone" => Reference::ContactPhone,
            "company.id" => Reference::CompanyId,
            "company.name" => Reference::CompanyName,
            "account.id" => Reference::AccountId,
            "account.subdomain" => Reference::AccountSubdomain,
            "email" => Reference::LoopsEmail,
            "event" => Reference::LoopsEvent,
            "user_id" => Reference::LoopsUserId,
            _ => {
                let field = |prefix: &str| {
                    text.strip_prefix(prefix).map(|key| {
                        if key.is_empty()
                            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        {
                            Err(format!(
                                "`{text}`: a custom field is `cf.<id>` or `cf.<CODE>`"
                            ))
                        } else if let Ok(id) = key.parse::<u64>() {
                            Ok(FieldKey::Id(id))
                        } else {
                            Ok(FieldKey::Code(key.to_owned()))
                        }
                    })
                };
                if let Some(key) = field("lead.cf.") {
                    Reference::LeadField(key?)
                } else if let Some(key) = field("contact.cf.") {
                    Reference::ContactField(key?)
                } else if let Some(key) = field("company.cf.") {
                    Reference::CompanyField(key?)
                } else {
                    return Err(format!("unknown reference `{text}` (expected {known})"));
                }
            }
        };
        let in_scope = match reference {
            Reference::LoopsEmail | Reference::LoopsEvent | Reference::LoopsUserId => {
                scope == Scope::Loops
            }
            _ => scope == Scope::Kommo,
        };
        if !in_scope {
            let side = match scope {
                Scope::Kommo => "[[kommo]] rules and [contact]/[identity]",
                Scope::Loops => "[[loops]] rules",
            };
            return Err(format!("`{text}` cannot be used in {side} (use {known})"));
        }
        Ok(reference)
    }

    /// The entity a reference reads, which decides what data the engine must fetch.
    pub(crate) fn entity(&self) -> Entity {
        match self {
            Reference::LeadId
            | Reference::LeadName
            | Reference::LeadPrice
            | Reference::LeadStatusId
            | Reference::LeadPipelineId
            | Reference::LeadResponsibleUserId
            | Reference::LeadField(_) => Entity::Lead,
            Reference::LeadStatusName | Reference::LeadPipelineName => Entity::Pipelines,
            Reference::ContactId
            | Reference::ContactName
            | Reference::ContactFirstName
            | Reference::ContactLastName
            | Reference::ContactEmail
            | Reference::ContactPhone
            | Reference::ContactField(_) => Entity::Contact,
            Reference::CompanyId | Reference::CompanyName | Reference::CompanyField(_) => {
                Entity::Company
            }
            Reference::AccountId | Reference::AccountSubdomain => Entity::Account,
            Reference::LoopsEmail | Reference::LoopsEvent | Reference::LoopsUserId => {
                Entity::LoopsEvent
            }
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::LeadId => f.write_str("lead.id"),
            Reference::LeadName => f.write_str("lead.name"),
            Reference::LeadPrice => f.write_str("lead.price"),
            Reference::LeadStatusId => f.write_str("lead.status_id"),
            Reference::LeadStatusName => f.write_str("lead.status_name"),
            Reference::LeadPipelineId => f.write_str("lead.pipeline_id"),
            Reference::LeadPipelineName => f.write_str("lead.pipeline_name"),
            Reference::LeadResponsibleUserId => f.write_str("lead.responsible_user_id"),
            Reference::LeadField(k) => write!(f, "lead.cf.{k}"),
            Reference::ContactId => f.write_str("contact.id"),
            Reference::ContactName => f.write_str("contact.name"),
            Reference::ContactFirstName => f.write_str("contact.first_name"),
            Reference::ContactLastName => f.write_str("contact.last_name"),
            Reference::ContactEmail => f.write_str("contact.email"),
            Reference::ContactPhone => f.write_str("contact.phone"),
            Reference::ContactField(k) => write!(f, "contact.cf.{k}"),
            Reference::CompanyId => f.write_str("company.id"),
            Reference::CompanyName => f.write_str("company.name"),
            Reference::CompanyField(k) => write!(f, "company.cf.{k}"),
            Reference::AccountId => f.write_str("account.id"),
            Reference::AccountSubdomain => f.write_str("account.subdomain"),
            Reference::LoopsEmail => f.write_str("email"),
            Reference::LoopsEvent => f.write_str("event"),
            Reference::LoopsUserId => f.write_str("user_id"),
        }
    }
}

/// What a reference needs to be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    Lead,
    Pipelines,
    Contact,
    Company,
    Account,
    LoopsEvent,
}

/// Looks references up in whatever data the engine has gathered.
pub(crate) trait Resolve {
    /// The value, or `None` when it is absent or empty.
    fn resolve(&self, reference: &Reference) -> Option<Val>;
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RefExpr {
    pub(crate) reference: Reference,
    pub(crate) cast: Option<Cast>,
}

impl fmt::Display for RefExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cast {
            Some(cast) => write!(f, "{{{}:{}}}", self.reference, cast.name()),
            None => write!(f, "{{{}}}", self.reference),
        }
    }
}

impl RefExpr {
    /// Resolves and casts; a note explains a missing or uncastable value.
    fn evaluate(&self, data: &dyn Resolve, notes: &mut Vec<String>) -> Option<Val> {
        let Some(value) = data.resolve(&self.reference) else {
            notes.push(format!("{} is missing", self.reference));
            return None;
        };
        match self.cast {
            None => Some(value),
            Some(cast) => match cast.apply(value) {
                Ok(v) => Some(v),
                Err(why) => {
                    notes.push(format!("{}: {why}", self.reference));
                    None
                }
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Ref(RefExpr),
}

/// What a template renders to: its type is known before anything is rendered.
#[cfg_attr(not(feature = "runtime"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape<'a> {
    /// A number or boolean written without quotes.
    Constant(&'a Val),
    /// Exactly one reference: the value keeps its type, or takes the cast.
    Lone(&'a RefExpr),
    /// Anything else renders as text.
    Text,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    segments: Vec<Segment>,
    /// A literal number or boolean from the rules file keeps its type.
    constant: Option<Val>,
    /// A guess at the rendered length, so rendering allocates once.
    text_hint: usize,
}

impl Template {
    /// Parses a template; the error says what is wrong with it.
    pub(crate) fn parse(text: &str, scope: Scope) -> Result<Template, String> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(format!(
                        "unmatched `}}` at byte {i} (write `}}}}` for a literal brace)"
                    ));
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "unclosed `{{` at byte {i} (write `{{{{` for a literal brace)"
                        ));
                    };
                    let inner = rest[..end].trim();
                    if inner.is_empty() {
                        return Err(format!("empty reference `{{}}` at byte {i}"));
                    }
                    if inner.contains('{') {
                        return Err(format!("nested `{{` inside a reference at byte {i}"));
                    }
                    let (name, cast) = match inner.split_once(':') {
                        Some((name, cast)) => {
                            let cast = cast.trim();
                            let parsed = Cast::parse(cast).ok_or_else(|| {
                                format!("unknown cast `{cast}` in `{{{inner}}}` (expected number, string, bool or date)")
                            })?;
                            (name.trim(), Some(parsed))
                        }
                        None => (inner, None),
                    };
                    let reference = Reference::parse(name, scope)?;
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Ref(RefExpr { reference, cast }));
                    // Skip the reference's characters.
                    for _ in 0..rest[..=end].chars().count() {
                        chars.next();
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Template::new(segments, None))
    }

    fn new(segments: Vec<Segment>, constant: Option<Val>) -> Template {
        let text_hint = segments
            .iter()
            .map(|s| match s {
                Segment::Literal(text) => text.len(),
                Segment::Ref(_) => 24,
            })
            .sum();
        Template {
            segments,
            constant,
            text_hint,
        }
    }

    /// A constant value (a number or boolean written without quotes in the rules file).
    pub(crate) fn constant(value: Val) -> Template {
        Template::new(vec![Segment::Literal(value.to_string())], Some(value))
    }

    /// Every reference the template makes.
    pub(crate) fn references(&self) -> impl Iterator<Item = &Reference> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Ref(r) => Some(&r.reference),
            Segment::Literal(_) => None,
        })
    }

    /// Every reference with its cast, for checks made before the rules are used.
    #[cfg_attr(not(feature = "runtime"), allow(dead_code))]
    pub(crate) fn expressions(&self) -> impl Iterator<Item = &RefExpr> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Ref(r) => Some(r),
            Segment::Literal(_) => None,
        })
    }

    /// What the template renders to, as [`render_value`](Self::render_value) decides it.
    #[cfg_attr(not(feature = "runtime"), allow(dead_code))]
    pub(crate) fn shape(&self) -> Shape<'_> {
        if let Some(constant) = &self.constant {
            return Shape::Constant(constant);
        }
        match self.segments.as_slice() {
            [Segment::Ref(expr)] => Shape::Lone(expr),
            _ => Shape::Text,
        }
    }

    /// Renders a typed value: a lone reference keeps its type (or takes its cast), anything
    /// else is text. `None` drops the property; `notes` say why.
    pub(crate) fn render_value(&self, data: &dyn Resolve, notes: &mut Vec<String>) -> Option<Val> {
        if let Some(constant) = &self.constant {
            return Some(constant.clone());
        }
        match self.segments.as_slice() {
            [Segment::Ref(expr)] => expr.evaluate(data, notes),
            _ => {
                let text = self.render_text(data, notes);
                Some(Val::Text(text))
            }
        }
    }

    /// Renders text; a missing reference renders as nothing.
    pub(crate) fn render_text(&self, data: &dyn Resolve, notes: &mut Vec<String>) -> String {
        let mut out = String::with_capacity(self.text_hint);
        for segment in &self.segments {
            match segment {
                Segment::Literal(s) => out.push_str(s),
                Segment::Ref(expr) => match expr.evaluate(data, notes) {
                    Some(Val::Text(text)) if out.is_empty() => out = text,
                    Some(Val::Text(text)) => out.push_str(&text),
                    Some(v) => {
                        use std::fmt::Write as _;
                        let _ = write!(out, "{v}");
                    }
                    None => {}
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Data(BTreeMap<String, Val>);

    impl Resolve for Data {
        fn resolve(&self, reference: &Reference) -> Option<Val> {
            self.0.get(&reference.to_string()).cloned()
        }
    }

    fn data() -> Data {
        let mut m = BTreeMap::new();
        m.insert("lead.name".to_owned(), Val::Text("Acme deal".into()));
        m.insert("lead.price".to_owned(), Val::int(1200));
        m.insert("lead.cf.912345".to_owned(), Val::Text("14".into()));
        m.insert("lead.cf.PLAN".to_owned(), Val::Text("pro".into()));
        m.insert(
            "contact.email".to_owned(),
            Val::Text("ada@example.com".into()),
        );
        Data(m)
    }

    #[test]
    fn parse_errors_table() {
        let cases = [
            ("{lead.nme}", "unknown reference `lead.nme`"),
            ("{lead.name", "unclosed `{`"),
            ("lead.name}", "unmatched `}`"),
            ("{}", "empty reference"),
            ("{lead.price:money}", "unknown cast `money`"),
            ("{email}", "cannot be used in [[kommo]]"),
            ("{lead.cf.}", "custom field is"),
            ("{lead.cf.a-b}", "custom field is"),
            ("{{lead.{x}", "unknown reference `x`"),
        ];
        for (text, expected) in cases {
            let err = Template::parse(text, Scope::Kommo).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let err = Template::parse("{lead.id}", Scope::Loops).unwrap_err();
        assert!(err.contains("cannot be used in [[loops]] rules"), "{err}");
    }

    #[test]
    fn render_table() {
        let d = data();
        let cases: Vec<(&str, Option<Val>)> = vec![
            ("{lead.price}", Some(Val::int(1200))),
            ("{lead.cf.912345:number}", Some(Val::int(14))),
            ("{lead.cf.912345}", Some(Val::Text("14".into()))),
            ("{ lead.price : string }", Some(Val::Text("1200".into()))),
            (
                "Deal {lead.name} for {lead.price}",
                Some(Val::Text("Deal Acme deal for 1200".into())),
            ),
            ("{lead.cf.missing}", None),
            ("plan: {lead.cf.missing}", Some(Val::Text("plan: ".into()))),
            (
                "{{literal}} {lead.cf.PLAN}",
                Some(Val::Text("{literal} pro".into())),
            ),
            ("no refs", Some(Val::Text("no refs".into()))),
            ("{lead.cf.PLAN:number}", None),
        ];
        for (text, expected) in cases {
            let template = Template::parse(text, Scope::Kommo).unwrap();
            let mut notes = Vec::new();
            assert_eq!(template.render_value(&d, &mut notes), expected, "{text}");
            if text.contains("missing") {
                assert_eq!(notes, ["lead.cf.missing is missing"], "{text}");
            }
        }
    }

    #[test]
    fn utf8_literals_survive() {
        let t = Template::parse("Сделка «{lead.name}» 🎉", Scope::Kommo).unwrap();
        assert_eq!(
            t.render_text(&data(), &mut Vec::new()),
            "Сделка «Acme deal» 🎉"
        );
    }

    #[test]
    fn loops_references() {
        let t = Template::parse("bounce on {email} ({event})", Scope::Loops).unwrap();
        let refs: Vec<_> = t.references().cloned().collect();
        assert_eq!(refs, [Reference::LoopsEmail, Reference::LoopsEvent]);
    }
}
