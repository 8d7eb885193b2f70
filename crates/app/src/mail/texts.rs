//! The words of every mail, per language, and its dates. Every text here is plain and holds no
//! value: the templates (crates/app/templates/mail.*) put the values beside them and escape them.

use time::{OffsetDateTime, UtcOffset};

use contacts_domain::{BatchState, FailReason, State};
use contacts_domain::{Language, Role};

/// What every mail of a language says around its values.
pub(super) struct Words {
    /// The mail's header: the guide's name for the service.
    pub brand: &'static str,
    /// Before the recipient's name: "Hello Ada,".
    pub hello: &'static str,
    /// After a label in the text part: French puts a no-break space before it.
    pub colon: &'static str,
    pub service: &'static str,
    pub role: &'static str,
    pub roles: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub requested_by: &'static str,
    pub request: &'static str,
    pub expires: &'static str,
    pub closed: &'static str,
    pub reason: &'static str,
    pub account: &'static str,
    pub new_address: &'static str,
    /// Before the page's address, below the button: where to paste the code by hand.
    pub paste: &'static str,
    months: [&'static str; 12],
    role_names: [&'static str; 3],
    reasons: [&'static str; 4],
}

impl Words {
    pub fn of(language: Language) -> &'static Words {
        match language {
            Language::En => &EN,
            Language::It => &IT,
            Language::Fr => &FR,
        }
    }

    pub fn role(&self, role: Role) -> &'static str {
        self.role_names[role as usize]
    }

    pub fn reason(&self, reason: FailReason) -> &'static str {
        match reason {
            FailReason::HoldersChanged => self.reasons[0],
            FailReason::PaymentOverdue => self.reasons[1],
            FailReason::RequesterLostRole => self.reasons[2],
            FailReason::DifferentZone => self.reasons[3],
        }
    }
}

/// `at` in UTC as a reader of `language` writes it: `8 December 2026, 21:03 UTC`,
/// `8 dicembre 2026, 21:03 UTC`, `1er décembre 2026 à 21:03 UTC`.
pub(super) fn date(language: Language, at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    let month = Words::of(language).months[usize::from(u8::from(at.month())) - 1];
    let (day, year, hour, minute) = (at.day(), at.year(), at.hour(), at.minute());
    match language {
        Language::En | Language::It => format!("{day} {month} {year}, {hour:02}:{minute:02} UTC"),
        Language::Fr if day == 1 => format!("1er {month} {year} à {hour:02}:{minute:02} UTC"),
        Language::Fr => format!("{day} {month} {year} à {hour:02}:{minute:02} UTC"),
    }
}

const EN: Words = Words {
    brand: "Manage your contacts",
    hello: "Hello",
    colon: ":",
    service: "Service",
    role: "Role",
    roles: "Roles",
    from: "Previous contact",
    to: "New contact",
    requested_by: "Requested by",
    request: "Request",
    expires: "Expires",
    closed: "Closed",
    reason: "Reason",
    account: "Account",
    new_address: "New address",
    paste: "If the button does not work, open this page and paste the code there:",
    months: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    role_names: ["Administrator contact", "Technical contact", "Billing contact"],
    reasons: [
        "The service's contacts changed in the meantime",
        "A billing contact is not in good standing with its payments",
        "The requester no longer holds the role that allowed it to ask",
        "The previous and the new contact are no longer in the same geographic zone",
    ],
};

const IT: Words = Words {
    brand: "Gestisci i tuoi contatti",
    hello: "Gentile",
    colon: ":",
    service: "Servizio",
    role: "Ruolo",
    roles: "Ruoli",
    from: "Contatto precedente",
    to: "Nuovo contatto",
    requested_by: "Richiesta da",
    request: "Richiesta",
    expires: "Scadenza",
    closed: "Chiusura",
    reason: "Motivo",
    account: "Account",
    new_address: "Nuovo indirizzo",
    paste: "Se il pulsante non funziona, apri questa pagina e incolla lì il codice:",
    months: ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"],
    role_names: ["Contatto amministratore", "Contatto tecnico", "Contatto di fatturazione"],
    reasons: [
        "I contatti del servizio sono cambiati nel frattempo",
        "Un contatto di fatturazione non è in regola con i pagamenti",
        "Il richiedente non ha più il ruolo che gli permetteva di chiederla",
        "Il contatto precedente e il nuovo non sono più nella stessa zona geografica",
    ],
};

const FR: Words = Words {
    brand: "Gérer vos contacts",
    hello: "Bonjour",
    colon: "\u{a0}:",
    service: "Service",
    role: "Rôle",
    roles: "Rôles",
    from: "Contact précédent",
    to: "Nouveau contact",
    requested_by: "Demandé par",
    request: "Demande",
    expires: "Expiration",
    closed: "Clôture",
    reason: "Motif",
    account: "Compte",
    new_address: "Nouvelle adresse",
    paste: "Si le bouton ne fonctionne pas, ouvrez cette page et collez-y le code :",
    months: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"],
    role_names: ["Contact administrateur", "Contact technique", "Contact de facturation"],
    reasons: [
        "Les contacts du service ont changé entre-temps",
        "Un contact de facturation n'est pas à jour de ses paiements",
        "Le demandeur n'a plus le rôle qui lui permettait de la demander",
        "L'ancien et le nouveau contact ne sont plus dans la même zone géographique",
    ],
};

/// The words of one kind of mail: its subject, what it says, and for the mails that carry a
/// token, the call to action.
pub(super) struct Kind {
    /// The subject; a request's mails add the service after it.
    pub subject: &'static str,
    pub lead: &'static str,
    pub action: Option<ActionWords>,
    /// Below the action (or the summary): what the reader should know.
    pub note: &'static str,
    pub footer: &'static str,
}

pub(super) struct ActionWords {
    pub button: &'static str,
    pub code: &'static str,
    /// Instead of the common "open this page and paste the code there" and the page's address:
    /// a mail that must carry exactly one link says where else the code goes.
    pub paste: Option<&'static str>,
}

/// The mails about a contact-change request.
pub(super) struct ChangeTexts {
    pub confirm: Kind,
    /// After a resend, below the note: the earlier codes are dead.
    pub replaces: &'static str,
    pub informed: Kind,
    pub done: Kind,
    pub refused: Kind,
    pub cancelled: Kind,
    pub failed: Kind,
    pub reminder: Kind,
    pub expired: Kind,
}

impl ChangeTexts {
    pub fn of(language: Language) -> &'static ChangeTexts {
        match language {
            Language::En => &CHANGE_EN,
            Language::It => &CHANGE_IT,
            Language::Fr => &CHANGE_FR,
        }
    }
}

const FOOTER_EN: &str = "You receive this email because you are involved in this contact change.";
const FOOTER_IT: &str = "Ricevi questa email perché sei coinvolto in questa modifica dei contatti.";
const FOOTER_FR: &str = "Vous recevez cet e-mail car vous êtes concerné par ce changement de contacts.";

const CHANGE_EN: ChangeTexts = ChangeTexts {
    confirm: Kind {
        subject: "Please confirm the contact change of",
        lead: "Your confirmation is needed for the change below. Check it, then accept or refuse it on the confirmation page.",
        action: Some(ActionWords { button: "Accept or refuse", code: "Your confirmation code", paste: None }),
        note: "This code is personal and works once, until the request expires. Do not share it.",
        footer: FOOTER_EN,
    },
    replaces: "This email replaces the earlier ones: their codes no longer work.",
    informed: Kind {
        subject: "A contact change was requested for",
        lead: "A change of a contact you hold was requested. You are only informed: you do not need to do anything.",
        action: None,
        note: "If you did not expect this change, talk to the requester or to the service's administrator contact.",
        footer: FOOTER_EN,
    },
    done: Kind {
        subject: "Contact change done for",
        lead: "Every party accepted: the change below has taken effect.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    refused: Kind { subject: "Contact change refused for", lead: "The change below was refused: nothing changed.", action: None, note: "", footer: FOOTER_EN },
    cancelled: Kind {
        subject: "Contact change cancelled for",
        lead: "The change below was cancelled: nothing changed.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    failed: Kind {
        subject: "Contact change failed for",
        lead: "Every party accepted, but the change below could not take effect. Nothing changed.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    reminder: Kind {
        subject: "Reminder: please confirm the contact change of",
        lead: "The change below still needs your confirmation, and it expires soon. Check it, then accept or refuse it on the confirmation page.",
        action: Some(ActionWords { button: "Accept or refuse", code: "Your new confirmation code", paste: None }),
        note: "This code is personal and works once, until the request expires. Do not share it.",
        footer: FOOTER_EN,
    },
    expired: Kind {
        subject: "Contact change expired for",
        lead: "The change below was not confirmed in time and has expired: nothing changed.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
};

const CHANGE_IT: ChangeTexts = ChangeTexts {
    confirm: Kind {
        subject: "Conferma la modifica dei contatti di",
        lead: "Per la modifica qui sotto è necessaria la tua conferma. Controllala, poi accettala o rifiutala nella pagina di conferma.",
        action: Some(ActionWords { button: "Accetta o rifiuta", code: "Il tuo codice di conferma", paste: None }),
        note: "Questo codice è personale e può essere utilizzato una sola volta, fino alla scadenza della richiesta. Non condividerlo.",
        footer: FOOTER_IT,
    },
    replaces: "Questa email sostituisce le precedenti: i loro codici non sono più validi.",
    informed: Kind {
        subject: "È stata richiesta una modifica dei contatti di",
        lead: "È stata richiesta la modifica di un contatto di cui sei titolare. Ti informiamo soltanto: non devi fare nulla.",
        action: None,
        note: "Se non ti aspettavi questa modifica, parlane con il richiedente o con il contatto amministratore del servizio.",
        footer: FOOTER_IT,
    },
    done: Kind {
        subject: "Modifica dei contatti effettuata per",
        lead: "Tutti hanno accettato: la modifica qui sotto è effettiva.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    refused: Kind {
        subject: "Modifica dei contatti rifiutata per",
        lead: "La modifica qui sotto è stata rifiutata: non è cambiato nulla.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    cancelled: Kind {
        subject: "Modifica dei contatti annullata per",
        lead: "La modifica qui sotto è stata annullata: non è cambiato nulla.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    failed: Kind {
        subject: "Modifica dei contatti non riuscita per",
        lead: "Tutti hanno accettato, ma la modifica qui sotto non è stata possibile. Non è cambiato nulla.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    reminder: Kind {
        subject: "Promemoria: conferma la modifica dei contatti di",
        lead: "La modifica qui sotto attende ancora la tua conferma e scade a breve. Controllala, poi accettala o rifiutala nella pagina di conferma.",
        action: Some(ActionWords { button: "Accetta o rifiuta", code: "Il tuo nuovo codice di conferma", paste: None }),
        note: "Questo codice è personale e può essere utilizzato una sola volta, fino alla scadenza della richiesta. Non condividerlo.",
        footer: FOOTER_IT,
    },
    expired: Kind {
        subject: "Modifica dei contatti scaduta per",
        lead: "La modifica qui sotto non è stata confermata in tempo ed è scaduta: non è cambiato nulla.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
};

const CHANGE_FR: ChangeTexts = ChangeTexts {
    confirm: Kind {
        subject: "Confirmez le changement de contacts de",
        lead: "Votre confirmation est nécessaire pour le changement ci-dessous. Vérifiez-le, puis acceptez-le ou refusez-le sur la page de confirmation.",
        action: Some(ActionWords { button: "Accepter ou refuser", code: "Votre code de confirmation", paste: None }),
        note: "Ce code est personnel et ne sert qu'une fois, jusqu'à l'expiration de la demande. Ne le partagez pas.",
        footer: FOOTER_FR,
    },
    replaces: "Cet e-mail remplace les précédents : leurs codes ne sont plus valables.",
    informed: Kind {
        subject: "Un changement de contacts a été demandé pour",
        lead: "Le changement d'un contact dont vous êtes titulaire a été demandé. Vous êtes seulement informé : vous n'avez rien à faire.",
        action: None,
        note: "Si vous n'attendiez pas ce changement, parlez-en au demandeur ou au contact administrateur du service.",
        footer: FOOTER_FR,
    },
    done: Kind {
        subject: "Changement de contacts effectué pour",
        lead: "Toutes les parties ont accepté : le changement ci-dessous est effectif.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    refused: Kind {
        subject: "Changement de contacts refusé pour",
        lead: "Le changement ci-dessous a été refusé : rien n'a changé.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    cancelled: Kind {
        subject: "Changement de contacts annulé pour",
        lead: "Le changement ci-dessous a été annulé : rien n'a changé.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    failed: Kind {
        subject: "Échec du changement de contacts pour",
        lead: "Toutes les parties ont accepté, mais le changement ci-dessous n'a pas pu avoir lieu. Rien n'a changé.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    reminder: Kind {
        subject: "Rappel : confirmez le changement de contacts de",
        lead: "Le changement ci-dessous attend encore votre confirmation et expire bientôt. Vérifiez-le, puis acceptez-le ou refusez-le sur la page de confirmation.",
        action: Some(ActionWords { button: "Accepter ou refuser", code: "Votre nouveau code de confirmation", paste: None }),
        note: "Ce code est personnel et ne sert qu'une fois, jusqu'à l'expiration de la demande. Ne le partagez pas.",
        footer: FOOTER_FR,
    },
    expired: Kind {
        subject: "Changement de contacts expiré pour",
        lead: "Le changement ci-dessous n'a pas été confirmé à temps et a expiré : rien n'a changé.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
};

/// The mails of a profile address change.
pub(super) struct EmailTexts {
    /// To the new address: its code (it is reachable).
    pub verify: Kind,
    /// To the current address: its own code, to agree (its owner agrees), and what to do if the
    /// change was not theirs.
    pub agree: Kind,
    /// To the old address, once the change took effect.
    pub changed: Kind,
}

impl EmailTexts {
    pub fn of(language: Language) -> &'static EmailTexts {
        match language {
            Language::En => &EMAIL_EN,
            Language::It => &EMAIL_IT,
            Language::Fr => &EMAIL_FR,
        }
    }
}

const EMAIL_EN: EmailTexts = EmailTexts {
    verify: Kind {
        subject: "Verify your new email address",
        lead: "You asked to use this address for the account below. Confirm it with the button. Your current address has received a code of its own: the change takes effect once both are confirmed, and until then mail keeps going to your current address.",
        action: Some(ActionWords { button: "Verify email address", code: "Your verification code", paste: None }),
        note: "This code is personal and works once. If you did not ask for this change, ignore this email: nothing changes.",
        footer: "You receive this email because of a change to the profile of the account above.",
    },
    agree: Kind {
        subject: "Agree to a change of your email address",
        lead: "Someone signed in to the account below asked to send its mail to a new address from now on. If it was you, agree with the button: the change takes effect once the new address has confirmed too, before the expiry below. Until then mail keeps coming here.",
        action: Some(ActionWords {
            button: "Agree to the change",
            code: "Your code to agree",
            paste: Some("If the button does not work, sign in and type this code in the Profile tab of your control panel."),
        }),
        note: "If it was not you, ignore this email and share this code with nobody: without it, your address stays as it is. Then change your password, since someone else may be using your account.",
        footer: "You receive this email because of a change to the profile of the account above.",
    },
    changed: Kind {
        subject: "Your email address has been changed",
        lead: "Both addresses agreed: from now on the mail of the account below goes to the new address below, and no longer here. Codes sent here before no longer work.",
        action: None,
        note: "If you did not want this change, contact our support at once.",
        footer: "You receive this email because of a change to the profile of the account above.",
    },
};

const EMAIL_IT: EmailTexts = EmailTexts {
    verify: Kind {
        subject: "Verifica il tuo nuovo indirizzo email",
        lead: "Hai chiesto di usare questo indirizzo per l'account qui sotto. Confermalo con il pulsante. Anche il tuo indirizzo attuale ha ricevuto un codice: la modifica è effettiva quando entrambi sono confermati, e fino ad allora la posta continua ad arrivare all'indirizzo attuale.",
        action: Some(ActionWords { button: "Verifica l'indirizzo email", code: "Il tuo codice di verifica", paste: None }),
        note: "Questo codice è personale e può essere utilizzato una sola volta. Se non hai chiesto questa modifica, ignora questa email: non cambia nulla.",
        footer: "Ricevi questa email per una modifica del profilo dell'account qui sopra.",
    },
    agree: Kind {
        subject: "Approva la modifica del tuo indirizzo email",
        lead: "Qualcuno con accesso all'account qui sotto ha chiesto di inviare d'ora in poi la posta a un nuovo indirizzo. Se sei stato tu, approva con il pulsante: la modifica è effettiva quando anche il nuovo indirizzo l'avrà confermata, entro la scadenza indicata. Fino ad allora la posta continua ad arrivare qui.",
        action: Some(ActionWords {
            button: "Approva la modifica",
            code: "Il tuo codice di approvazione",
            paste: Some("Se il pulsante non funziona, accedi e inserisci questo codice nella scheda Profilo del pannello di controllo."),
        }),
        note: "Se non sei stato tu, ignora questa email e non comunicare questo codice a nessuno: senza di esso il tuo indirizzo resta invariato. Poi cambia la password, perché qualcun altro potrebbe usare il tuo account.",
        footer: "Ricevi questa email per una modifica del profilo dell'account qui sopra.",
    },
    changed: Kind {
        subject: "Il tuo indirizzo email è stato modificato",
        lead: "Entrambi gli indirizzi hanno confermato: d'ora in poi la posta dell'account qui sotto arriva al nuovo indirizzo indicato, e non più qui. I codici inviati qui in precedenza non valgono più.",
        action: None,
        note: "Se non volevi questa modifica, contatta subito la nostra assistenza.",
        footer: "Ricevi questa email per una modifica del profilo dell'account qui sopra.",
    },
};

const EMAIL_FR: EmailTexts = EmailTexts {
    verify: Kind {
        subject: "Vérifiez votre nouvelle adresse e-mail",
        lead: "Vous avez demandé à utiliser cette adresse pour le compte ci-dessous. Confirmez-la avec le bouton. Votre adresse actuelle a reçu un code elle aussi : le changement a lieu une fois les deux confirmées, et d'ici là le courrier continue d'arriver à l'adresse actuelle.",
        action: Some(ActionWords { button: "Vérifier l'adresse e-mail", code: "Votre code de vérification", paste: None }),
        note: "Ce code est personnel et ne sert qu'une fois. Si vous n'avez pas demandé ce changement, ignorez cet e-mail : rien ne change.",
        footer: "Vous recevez cet e-mail à la suite d'une modification du profil du compte ci-dessus.",
    },
    agree: Kind {
        subject: "Approuvez le changement de votre adresse e-mail",
        lead: "Une personne connectée au compte ci-dessous a demandé d'envoyer désormais son courrier à une nouvelle adresse. Si c'était vous, approuvez avec le bouton : le changement a lieu une fois que la nouvelle adresse l'aura confirmé elle aussi, avant l'expiration indiquée. D'ici là, le courrier continue d'arriver ici.",
        action: Some(ActionWords {
            button: "Approuver le changement",
            code: "Votre code d'approbation",
            paste: Some("Si le bouton ne fonctionne pas, connectez-vous et saisissez ce code dans l'onglet Profil de votre panneau de contrôle."),
        }),
        note: "Si ce n'était pas vous, ignorez cet e-mail et ne communiquez ce code à personne : sans lui, votre adresse reste la même. Changez ensuite votre mot de passe : quelqu'un d'autre utilise peut-être votre compte.",
        footer: "Vous recevez cet e-mail à la suite d'une modification du profil du compte ci-dessus.",
    },
    changed: Kind {
        subject: "Votre adresse e-mail a été changée",
        lead: "Les deux adresses ont confirmé : désormais, le courrier du compte ci-dessous arrive à la nouvelle adresse indiquée, et plus ici. Les codes envoyés ici auparavant ne fonctionnent plus.",
        action: None,
        note: "Si vous ne vouliez pas ce changement, contactez immédiatement notre assistance.",
        footer: "Vous recevez cet e-mail à la suite d'une modification du profil du compte ci-dessus.",
    },
};

/// The words of one kind of batch mail: as [`Kind`], with the number of services inside its
/// subject, between `subject` and `subject_end`.
pub(super) struct BatchKind {
    pub subject: &'static str,
    /// After "12 services" in the subject, if anything: ": change done".
    pub subject_end: &'static str,
    pub lead: &'static str,
    pub action: Option<ActionWords>,
    pub note: &'static str,
    pub footer: &'static str,
}

/// The mails about a batch (SPEC §7): one per party or informed holder for many services.
pub(super) struct BatchTexts {
    pub confirm: BatchKind,
    pub reminder: BatchKind,
    pub informed: BatchKind,
    /// The closing letter, by outcome: every service done, some, none; refused, cancelled,
    /// expired; and, should a batch still be settling when it is written, in progress.
    done: BatchKind,
    partly_done: BatchKind,
    failed: BatchKind,
    refused: BatchKind,
    cancelled: BatchKind,
    expired: BatchKind,
    in_progress: BatchKind,
    /// The noun after the number in a subject: "1 service", "12 services".
    service_one: &'static str,
    service_many: &'static str,
    /// The summary's labels: how many services, the outcome, the batch's id.
    pub services: &'static str,
    pub outcome: &'static str,
    pub batch: &'static str,
    /// Above the table of services.
    pub listed: &'static str,
    /// A part's outcome, in the order of `State::ALL`, as the panel says it.
    part_states: [&'static str; 6],
    /// The batch's outcome, in the order of `BatchState::ALL`.
    batch_states: [&'static str; 7],
}

impl BatchTexts {
    pub fn of(language: Language) -> &'static BatchTexts {
        match language {
            Language::En => &BATCH_EN,
            Language::It => &BATCH_IT,
            Language::Fr => &BATCH_FR,
        }
    }

    /// What a closing letter says of a batch that ended `state`.
    pub fn closed(&self, state: BatchState) -> &BatchKind {
        match state {
            BatchState::Done => &self.done,
            BatchState::PartlyDone => &self.partly_done,
            BatchState::Failed => &self.failed,
            BatchState::Refused => &self.refused,
            BatchState::Cancelled => &self.cancelled,
            BatchState::Expired => &self.expired,
            BatchState::Pending => &self.in_progress,
        }
    }

    /// `kind`'s subject about `services` services.
    pub fn subject(&self, kind: &BatchKind, services: usize) -> String {
        let noun = if services == 1 { self.service_one } else { self.service_many };
        format!("{} {services} {noun}{}", kind.subject, kind.subject_end)
    }

    pub fn part_state(&self, state: State) -> &'static str {
        self.part_states[State::ALL.iter().position(|each| *each == state).expect("ALL holds every state")]
    }

    pub fn batch_state(&self, state: BatchState) -> &'static str {
        self.batch_states[BatchState::ALL.iter().position(|each| *each == state).expect("ALL holds every state")]
    }
}

const BATCH_EN: BatchTexts = BatchTexts {
    confirm: BatchKind {
        subject: "Confirm the change of contacts of",
        subject_end: "",
        lead: "Your confirmation is needed for the change below, on every service listed at the end of this email. One code answers for all of them: check the change, then accept or refuse it on the confirmation page.",
        action: Some(ActionWords { button: "Accept or refuse", code: "Your confirmation code", paste: None }),
        note: "This code is personal and works once, for every service of the change, until it expires. Do not share it.",
        footer: FOOTER_EN,
    },
    reminder: BatchKind {
        subject: "Reminder: confirm the change of contacts of",
        subject_end: "",
        lead: "The change below, on every service listed at the end of this email, still needs your confirmation, and it expires soon. One code answers for all of them: check the change, then accept or refuse it on the confirmation page.",
        action: Some(ActionWords { button: "Accept or refuse", code: "Your new confirmation code", paste: None }),
        note: "This code is personal and works once, for every service of the change, until it expires. Do not share it.",
        footer: FOOTER_EN,
    },
    informed: BatchKind {
        subject: "A change of contacts was requested for",
        subject_end: "",
        lead: "A change of a contact you hold was requested on the services listed at the end of this email. You are only informed: you do not need to do anything.",
        action: None,
        note: "If you did not expect this change, talk to the requester or to the administrator contact of the services.",
        footer: FOOTER_EN,
    },
    done: BatchKind {
        subject: "Contacts of",
        subject_end: ": change done",
        lead: "Every party accepted: the change below has taken effect on every service listed.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    partly_done: BatchKind {
        subject: "Contacts of",
        subject_end: ": change partly done",
        lead: "Every party accepted, but the change below took effect on some of the services only. The list says what happened to each.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    failed: BatchKind {
        subject: "Contacts of",
        subject_end: ": change failed",
        lead: "Every party accepted, but the change below could not take effect on any service. Nothing changed; the list says why for each.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    refused: BatchKind {
        subject: "Contacts of",
        subject_end: ": change refused",
        lead: "The change below was refused: nothing changed on the services listed.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    cancelled: BatchKind {
        subject: "Contacts of",
        subject_end: ": change cancelled",
        lead: "The change below was cancelled: nothing changed on the services listed.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    expired: BatchKind {
        subject: "Contacts of",
        subject_end: ": change expired",
        lead: "The change below was not confirmed in time and has expired: nothing changed on the services listed.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    in_progress: BatchKind {
        subject: "Contacts of",
        subject_end: ": change in progress",
        lead: "Every party accepted: the change below is taking effect. The list says where each service stands.",
        action: None,
        note: "",
        footer: FOOTER_EN,
    },
    service_one: "service",
    service_many: "services",
    services: "Services",
    outcome: "Outcome",
    batch: "Batch",
    listed: "Services concerned",
    part_states: ["Pending", "Done", "Refused", "Expired", "Cancelled", "Failed"],
    batch_states: ["In progress", "Done", "Partly done", "Failed", "Refused", "Cancelled", "Expired"],
};

const BATCH_IT: BatchTexts = BatchTexts {
    confirm: BatchKind {
        subject: "Conferma la modifica dei contatti di",
        subject_end: "",
        lead: "Per la modifica qui sotto, che riguarda tutti i servizi elencati in fondo a questa email, è necessaria la tua conferma. Un solo codice vale per tutti: controlla la modifica, poi accettala o rifiutala nella pagina di conferma.",
        action: Some(ActionWords { button: "Accetta o rifiuta", code: "Il tuo codice di conferma", paste: None }),
        note: "Questo codice è personale e può essere utilizzato una sola volta, per tutti i servizi della modifica, fino alla sua scadenza. Non condividerlo.",
        footer: FOOTER_IT,
    },
    reminder: BatchKind {
        subject: "Promemoria: conferma la modifica dei contatti di",
        subject_end: "",
        lead: "La modifica qui sotto, che riguarda tutti i servizi elencati in fondo a questa email, attende ancora la tua conferma e scade a breve. Un solo codice vale per tutti: controlla la modifica, poi accettala o rifiutala nella pagina di conferma.",
        action: Some(ActionWords { button: "Accetta o rifiuta", code: "Il tuo nuovo codice di conferma", paste: None }),
        note: "Questo codice è personale e può essere utilizzato una sola volta, per tutti i servizi della modifica, fino alla sua scadenza. Non condividerlo.",
        footer: FOOTER_IT,
    },
    informed: BatchKind {
        subject: "È stata richiesta una modifica dei contatti di",
        subject_end: "",
        lead: "Sui servizi elencati in fondo a questa email è stata richiesta la modifica di un contatto di cui sei titolare. Ti informiamo soltanto: non devi fare nulla.",
        action: None,
        note: "Se non ti aspettavi questa modifica, parlane con il richiedente o con il contatto amministratore dei servizi.",
        footer: FOOTER_IT,
    },
    done: BatchKind {
        subject: "Contatti di",
        subject_end: ": modifica effettuata",
        lead: "Tutti hanno accettato: la modifica qui sotto è effettiva su tutti i servizi elencati.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    partly_done: BatchKind {
        subject: "Contatti di",
        subject_end: ": modifica effettuata in parte",
        lead: "Tutti hanno accettato, ma la modifica qui sotto è diventata effettiva solo su alcuni dei servizi. L'elenco indica l'esito di ciascuno.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    failed: BatchKind {
        subject: "Contatti di",
        subject_end: ": modifica non riuscita",
        lead: "Tutti hanno accettato, ma la modifica qui sotto non è stata possibile su nessun servizio. Non è cambiato nulla; l'elenco indica il motivo per ciascuno.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    refused: BatchKind {
        subject: "Contatti di",
        subject_end: ": modifica rifiutata",
        lead: "La modifica qui sotto è stata rifiutata: sui servizi elencati non è cambiato nulla.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    cancelled: BatchKind {
        subject: "Contatti di",
        subject_end: ": modifica annullata",
        lead: "La modifica qui sotto è stata annullata: sui servizi elencati non è cambiato nulla.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    expired: BatchKind {
        subject: "Contatti di",
        subject_end: ": modifica scaduta",
        lead: "La modifica qui sotto non è stata confermata in tempo ed è scaduta: sui servizi elencati non è cambiato nulla.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    in_progress: BatchKind {
        subject: "Contatti di",
        subject_end: ": modifica in corso",
        lead: "Tutti hanno accettato: la modifica qui sotto sta diventando effettiva. L'elenco indica a che punto è ciascun servizio.",
        action: None,
        note: "",
        footer: FOOTER_IT,
    },
    service_one: "servizio",
    service_many: "servizi",
    services: "Servizi",
    outcome: "Esito",
    batch: "Richiesta multipla",
    listed: "Servizi interessati",
    part_states: ["In attesa", "Effettuata", "Rifiutata", "Scaduta", "Annullata", "Non riuscita"],
    batch_states: ["In corso", "Effettuata", "Effettuata in parte", "Non riuscita", "Rifiutata", "Annullata", "Scaduta"],
};

const BATCH_FR: BatchTexts = BatchTexts {
    confirm: BatchKind {
        subject: "Confirmez le changement de contacts de",
        subject_end: "",
        lead: "Votre confirmation est nécessaire pour le changement ci-dessous, sur chacun des services listés à la fin de cet e-mail. Un seul code vaut pour tous : vérifiez le changement, puis acceptez-le ou refusez-le sur la page de confirmation.",
        action: Some(ActionWords { button: "Accepter ou refuser", code: "Votre code de confirmation", paste: None }),
        note: "Ce code est personnel et ne sert qu'une fois, pour tous les services du changement, jusqu'à son expiration. Ne le partagez pas.",
        footer: FOOTER_FR,
    },
    reminder: BatchKind {
        subject: "Rappel : confirmez le changement de contacts de",
        subject_end: "",
        lead: "Le changement ci-dessous, sur chacun des services listés à la fin de cet e-mail, attend encore votre confirmation et expire bientôt. Un seul code vaut pour tous : vérifiez le changement, puis acceptez-le ou refusez-le sur la page de confirmation.",
        action: Some(ActionWords { button: "Accepter ou refuser", code: "Votre nouveau code de confirmation", paste: None }),
        note: "Ce code est personnel et ne sert qu'une fois, pour tous les services du changement, jusqu'à son expiration. Ne le partagez pas.",
        footer: FOOTER_FR,
    },
    informed: BatchKind {
        subject: "Un changement de contacts a été demandé pour",
        subject_end: "",
        lead: "Sur les services listés à la fin de cet e-mail, le changement d'un contact dont vous êtes titulaire a été demandé. Vous êtes seulement informé : vous n'avez rien à faire.",
        action: None,
        note: "Si vous n'attendiez pas ce changement, parlez-en au demandeur ou au contact administrateur des services.",
        footer: FOOTER_FR,
    },
    done: BatchKind {
        subject: "Contacts de",
        subject_end: " : changement effectué",
        lead: "Toutes les parties ont accepté : le changement ci-dessous est effectif sur tous les services listés.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    partly_done: BatchKind {
        subject: "Contacts de",
        subject_end: " : changement effectué en partie",
        lead: "Toutes les parties ont accepté, mais le changement ci-dessous n'a pris effet que sur une partie des services. La liste indique le résultat de chacun.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    failed: BatchKind {
        subject: "Contacts de",
        subject_end: " : échec du changement",
        lead: "Toutes les parties ont accepté, mais le changement ci-dessous n'a pu avoir lieu sur aucun service. Rien n'a changé ; la liste indique le motif pour chacun.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    refused: BatchKind {
        subject: "Contacts de",
        subject_end: " : changement refusé",
        lead: "Le changement ci-dessous a été refusé : rien n'a changé sur les services listés.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    cancelled: BatchKind {
        subject: "Contacts de",
        subject_end: " : changement annulé",
        lead: "Le changement ci-dessous a été annulé : rien n'a changé sur les services listés.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    expired: BatchKind {
        subject: "Contacts de",
        subject_end: " : changement expiré",
        lead: "Le changement ci-dessous n'a pas été confirmé à temps et a expiré : rien n'a changé sur les services listés.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    in_progress: BatchKind {
        subject: "Contacts de",
        subject_end: " : changement en cours",
        lead: "Toutes les parties ont accepté : le changement ci-dessous est en train de prendre effet. La liste indique où en est chaque service.",
        action: None,
        note: "",
        footer: FOOTER_FR,
    },
    service_one: "service",
    service_many: "services",
    services: "Services",
    outcome: "Résultat",
    batch: "Demande groupée",
    listed: "Services concernés",
    part_states: ["En attente", "Effectuée", "Refusée", "Expirée", "Annulée", "Échouée"],
    batch_states: ["En cours", "Effectuée", "Effectuée en partie", "Échouée", "Refusée", "Annulée", "Expirée"],
};
