//! The authentication context a response states, and whether a sign-in meets the one an SP
//! asked for in its RequestedAuthnContext (SAML core 3.3.2.2.1).

use std::fmt;

use idfed_saml::model::{Comparison, RequestedAuthnContext};
use idfed_saml::ns;

/// How the person proved who they are, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    Password,
    SecondFactor,
}

impl Strength {
    pub fn proven(second_factor: bool) -> Self {
        if second_factor { Strength::SecondFactor } else { Strength::Password }
    }

    /// The class idfed states for a sign-in of this strength when the SP does not ask.
    fn class(self) -> &'static str {
        match self {
            Strength::Password => ns::AC_PASSWORD_PROTECTED,
            Strength::SecondFactor => ns::AC_REFEDS_MFA,
        }
    }
}

/// The classes idfed can state, by the strength each stands for. Anything else an SP names is
/// a class idfed cannot vouch for.
fn strength_of(class: &str) -> Option<Strength> {
    match class {
        ns::AC_PASSWORD | ns::AC_PASSWORD_PROTECTED | ns::AC_UNSPECIFIED => Some(Strength::Password),
        ns::AC_REFEDS_MFA | ns::AC_MICROSOFT_MFA => Some(Strength::SecondFactor),
        _ => None,
    }
}

/// Why a sign-in does not meet the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortfall {
    /// A second factor would meet it.
    SecondFactor,
    /// No sign-in idfed offers meets it.
    Unsatisfiable(String),
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shortfall::SecondFactor => f.write_str("the app asks for a sign-in with a second factor"),
            Shortfall::Unsatisfiable(why) => f.write_str(why),
        }
    }
}

/// The AuthnContextClassRef to state for a sign-in of strength `proven`, answering `requested`
/// (None: the SP did not ask). The SP's list is in its order of preference; a class it named
/// is stated in its own words when the sign-in matches it.
pub fn stated_class(requested: Option<&RequestedAuthnContext>, proven: Strength) -> Result<String, Shortfall> {
    let Some(requested) = requested else { return Ok(proven.class().to_owned()) };
    if !requested.decl_refs.is_empty() {
        return Err(Shortfall::Unsatisfiable(
            "the app asks for an authentication context declaration (AuthnContextDeclRef); idfed states classes only"
                .to_owned(),
        ));
    }
    let known: Vec<(&str, Strength)> =
        requested.class_refs.iter().filter_map(|c| strength_of(c).map(|s| (c.as_str(), s))).collect();
    let named_at = |strength: Strength| {
        known.iter().find(|(_, s)| *s == strength).map_or_else(|| strength.class().to_owned(), |(c, _)| (*c).to_owned())
    };
    let (Some(weakest), Some(strongest)) = (known.iter().map(|(_, s)| *s).min(), known.iter().map(|(_, s)| *s).max())
    else {
        return Err(Shortfall::Unsatisfiable(format!(
            "none of the authentication classes the app asks for ({}) is one idfed can state",
            listed(&requested.class_refs)
        )));
    };
    let reach = |needed: Strength| if proven >= needed { Ok(named_at(proven)) } else { Err(Shortfall::SecondFactor) };
    match requested.comparison {
        Comparison::Exact => match known.iter().find(|(_, s)| *s <= proven) {
            Some((class, _)) => Ok((*class).to_owned()),
            None => Err(Shortfall::SecondFactor),
        },
        Comparison::Minimum => reach(weakest),
        Comparison::Maximum => Ok(named_at(proven.min(strongest))),
        Comparison::Better => {
            if known.len() < requested.class_refs.len() {
                return Err(Shortfall::Unsatisfiable(format!(
                    "the app asks for better than classes idfed cannot compare ({})",
                    listed(&requested.class_refs)
                )));
            }
            match strongest {
                Strength::Password => reach(Strength::SecondFactor),
                Strength::SecondFactor => Err(Shortfall::Unsatisfiable(
                    "the app asks for better than a multi-factor sign-in, the strongest idfed offers".to_owned(),
                )),
            }
        }
    }
}

/// The classes an SP named, for a message: the first few, each cut short, since anyone may send
/// a request and the message goes into a signed Response.
fn listed(class_refs: &[String]) -> String {
    const SHOWN: usize = 4;
    const LONGEST: usize = 120;
    let mut shown: Vec<String> = class_refs.iter().take(SHOWN).map(|class| cut(class, LONGEST)).collect();
    if class_refs.len() > SHOWN {
        shown.push(format!("{} more", class_refs.len() - SHOWN));
    }
    shown.join(", ")
}

/// `text` cut to `longest` characters (and an ellipsis): what a sender wrote, fit for a message.
pub(crate) fn cut(text: &str, longest: usize) -> String {
    match text.char_indices().nth(longest) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// Whether any sign-in idfed offers could meet `requested`: a request that no one can meet is
/// answered at once, without asking anyone to sign in.
pub fn satisfiable(requested: Option<&RequestedAuthnContext>) -> Result<(), String> {
    match stated_class(requested, Strength::SecondFactor) {
        Err(Shortfall::Unsatisfiable(why)) => Err(why),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PPT: &str = ns::AC_PASSWORD_PROTECTED;
    const MFA: &str = ns::AC_REFEDS_MFA;
    const ENTRA_MFA: &str = ns::AC_MICROSOFT_MFA;
    const SMARTCARD: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard";
    use Strength::{Password, SecondFactor};

    fn asking(comparison: Comparison, classes: &[&str]) -> RequestedAuthnContext {
        RequestedAuthnContext {
            comparison,
            class_refs: classes.iter().map(|c| (*c).to_owned()).collect(),
            decl_refs: vec![],
        }
    }

    fn stated(comparison: Comparison, classes: &[&str], proven: Strength) -> Result<String, Shortfall> {
        stated_class(Some(&asking(comparison, classes)), proven)
    }

    fn unsatisfiable(result: Result<String, Shortfall>) -> String {
        match result {
            Err(Shortfall::Unsatisfiable(why)) => why,
            other => panic!("expected unsatisfiable, got {other:?}"),
        }
    }

    #[test]
    fn without_a_request_the_class_follows_the_sign_in() {
        assert_eq!(stated_class(None, Password).unwrap(), PPT);
        assert_eq!(stated_class(None, SecondFactor).unwrap(), MFA);
    }

    #[test]
    fn exact_states_the_first_named_class_the_sign_in_meets() {
        use Comparison::Exact;
        assert_eq!(stated(Exact, &[MFA], Password), Err(Shortfall::SecondFactor));
        assert_eq!(stated(Exact, &[MFA], SecondFactor).unwrap(), MFA);
        assert_eq!(stated(Exact, &[ENTRA_MFA], SecondFactor).unwrap(), ENTRA_MFA, "in the SP's own words");
        assert_eq!(stated(Exact, &[PPT], SecondFactor).unwrap(), PPT, "a password was proven too");
        assert_eq!(stated(Exact, &[MFA, PPT], Password).unwrap(), PPT, "the next preference");
        assert_eq!(stated(Exact, &[MFA, PPT], SecondFactor).unwrap(), MFA);
        assert_eq!(stated(Exact, &[SMARTCARD, MFA], SecondFactor).unwrap(), MFA);
        assert!(unsatisfiable(stated(Exact, &[SMARTCARD], SecondFactor)).contains("Smartcard"));
    }

    #[test]
    fn minimum_needs_the_weakest_named_strength() {
        use Comparison::Minimum;
        assert_eq!(stated(Minimum, &[PPT], Password).unwrap(), PPT);
        assert_eq!(stated(Minimum, &[PPT], SecondFactor).unwrap(), MFA, "stronger is allowed, and stated");
        assert_eq!(stated(Minimum, &[ENTRA_MFA], Password), Err(Shortfall::SecondFactor));
        assert_eq!(stated(Minimum, &[ENTRA_MFA], SecondFactor).unwrap(), ENTRA_MFA);
        assert_eq!(stated(Minimum, &[MFA, PPT], Password).unwrap(), PPT);
        unsatisfiable(stated(Minimum, &[SMARTCARD], SecondFactor));
    }

    #[test]
    fn maximum_states_no_more_than_the_strongest_named() {
        use Comparison::Maximum;
        assert_eq!(stated(Maximum, &[PPT], SecondFactor).unwrap(), PPT);
        assert_eq!(stated(Maximum, &[MFA], Password).unwrap(), PPT, "anything up to it");
        assert_eq!(stated(Maximum, &[MFA], SecondFactor).unwrap(), MFA);
        unsatisfiable(stated(Maximum, &[SMARTCARD], Password));
    }

    #[test]
    fn better_needs_more_than_every_named_class() {
        use Comparison::Better;
        assert_eq!(stated(Better, &[PPT], Password), Err(Shortfall::SecondFactor));
        assert_eq!(stated(Better, &[PPT], SecondFactor).unwrap(), MFA);
        assert!(unsatisfiable(stated(Better, &[MFA], SecondFactor)).contains("strongest idfed offers"));
        assert!(unsatisfiable(stated(Better, &[PPT, SMARTCARD], SecondFactor)).contains("cannot compare"));
    }

    #[test]
    fn the_classes_named_in_a_message_are_few_and_short() {
        let long = "urn:x:".to_owned() + &"é".repeat(300);
        let many: Vec<String> = (0..7).map(|i| format!("urn:class:{i}")).collect();
        assert_eq!(listed(&many), "urn:class:0, urn:class:1, urn:class:2, urn:class:3, 3 more");
        let cut = listed(std::slice::from_ref(&long));
        assert_eq!(cut.chars().count(), 121, "{cut}");
        assert!(cut.ends_with('…'));
        assert!(unsatisfiable(stated(Comparison::Exact, &[long.as_str()], SecondFactor)).len() < 400);
    }

    #[test]
    fn declarations_cannot_be_met() {
        let declared = RequestedAuthnContext {
            decl_refs: vec!["https://sp.example/decl".into()],
            ..RequestedAuthnContext::default()
        };
        assert!(unsatisfiable(stated_class(Some(&declared), SecondFactor)).contains("AuthnContextDeclRef"));
        assert!(satisfiable(Some(&declared)).is_err());
        assert!(satisfiable(Some(&asking(Comparison::Exact, &[MFA]))).is_ok());
        assert!(satisfiable(None).is_ok());
    }
}
