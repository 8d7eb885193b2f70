//! The words of every mail, per language. Templates are trusted text; `{key}`s are filled
//! with values that the renderer escapes for HTML.

use crate::domain::lifecycle::FailReason;
use crate::domain::{Language, Role};

pub(super) struct Texts {
    pub hello: &'static str,
    pub summary: &'static str,
    pub code: &'static str,
    pub personal: &'static str,
    pub footer: &'static str,
    pub subject_confirm: &'static str,
    pub lead_confirm: &'static str,
    pub subject_informed: &'static str,
    pub lead_informed: &'static str,
    pub subject_done: &'static str,
    pub lead_done: &'static str,
    pub subject_refused: &'static str,
    pub lead_refused: &'static str,
    pub subject_cancelled: &'static str,
    pub lead_cancelled: &'static str,
    pub subject_failed: &'static str,
    pub lead_failed: &'static str,
    roles: [&'static str; 3],
    reasons: [&'static str; 3],
}

impl Texts {
    pub fn of(language: Language) -> &'static Texts {
        match language {
            Language::En => &EN,
            Language::It => &IT,
            Language::Fr => &FR,
        }
    }

    pub fn role(&self, role: Role) -> &'static str {
        self.roles[role as usize]
    }

    pub fn reason(&self, reason: FailReason) -> &'static str {
        match reason {
            FailReason::HoldersChanged => self.reasons[0],
            FailReason::PaymentOverdue => self.reasons[1],
            FailReason::RequesterLostRole => self.reasons[2],
        }
    }
}

const EN: Texts = Texts {
    hello: "Hello {name},",
    summary: "{requester} asked to move the {roles} contact of the service {service} from {from} to {to} (request {id}).",
    code: "Your confirmation code:",
    personal: "This code is personal and works once. Do not share it. The request expires on {expires}.",
    footer: "You receive this email because you are involved in a contact change of {service}.",
    subject_confirm: "Please confirm the contact change of {service}",
    lead_confirm: "Your confirmation is needed. Open the link below to accept or refuse the change:",
    subject_informed: "A contact change was requested for {service}",
    lead_informed: "You are informed of this request; you do not need to do anything.",
    subject_done: "Contact change done for {service}",
    lead_done: "Every party accepted: the change has taken effect.",
    subject_refused: "Contact change refused for {service}",
    lead_refused: "The request was refused: nothing changed.",
    subject_cancelled: "Contact change cancelled for {service}",
    lead_cancelled: "The request was cancelled: nothing changed.",
    subject_failed: "Contact change failed for {service}",
    lead_failed: "Every party accepted, but the change could not take effect: {reason}. Nothing changed.",
    roles: ["administrator", "technical", "billing"],
    reasons: [
        "the service's contacts changed in the meantime",
        "a billing contact is not in good standing with its payments",
        "the requester no longer holds the role that allowed it to ask",
    ],
};

const IT: Texts = Texts {
    hello: "Gentile {name},",
    summary: "{requester} ha chiesto di spostare il contatto {roles} del servizio {service} da {from} a {to} (richiesta {id}).",
    code: "Il tuo codice di conferma:",
    personal: "Questo codice è personale e può essere utilizzato una sola volta. Non condividerlo. La richiesta scade il {expires}.",
    footer: "Ricevi questa email perché sei coinvolto in una modifica dei contatti di {service}.",
    subject_confirm: "Conferma la modifica dei contatti di {service}",
    lead_confirm: "È necessaria la tua conferma. Apri il link qui sotto per accettare o rifiutare la modifica:",
    subject_informed: "È stata richiesta una modifica dei contatti di {service}",
    lead_informed: "Ti informiamo di questa richiesta; non devi fare nulla.",
    subject_done: "Modifica dei contatti effettuata per {service}",
    lead_done: "Tutti i contatti hanno accettato: la modifica è effettiva.",
    subject_refused: "Modifica dei contatti rifiutata per {service}",
    lead_refused: "La richiesta è stata rifiutata: non è cambiato nulla.",
    subject_cancelled: "Modifica dei contatti annullata per {service}",
    lead_cancelled: "La richiesta è stata annullata: non è cambiato nulla.",
    subject_failed: "Modifica dei contatti non riuscita per {service}",
    lead_failed: "Tutti i contatti hanno accettato, ma la modifica non è stata possibile: {reason}. Non è cambiato nulla.",
    roles: ["amministratore", "tecnico", "di fatturazione"],
    reasons: [
        "i contatti del servizio sono cambiati nel frattempo",
        "un contatto di fatturazione non è in regola con i pagamenti",
        "il richiedente non ha più il ruolo che gli permetteva di chiederla",
    ],
};

const FR: Texts = Texts {
    hello: "Bonjour {name},",
    summary: "{requester} a demandé de transférer le contact {roles} du service {service} de {from} à {to} (demande {id}).",
    code: "Votre code de confirmation :",
    personal: "Ce code est personnel et ne sert qu'une fois. Ne le partagez pas. La demande expire le {expires}.",
    footer: "Vous recevez cet e-mail car vous êtes concerné par un changement de contacts de {service}.",
    subject_confirm: "Confirmez le changement de contacts de {service}",
    lead_confirm: "Votre confirmation est nécessaire. Ouvrez le lien ci-dessous pour accepter ou refuser le changement :",
    subject_informed: "Un changement de contacts a été demandé pour {service}",
    lead_informed: "Vous êtes informé de cette demande ; vous n'avez rien à faire.",
    subject_done: "Changement de contacts effectué pour {service}",
    lead_done: "Toutes les parties ont accepté : le changement est effectif.",
    subject_refused: "Changement de contacts refusé pour {service}",
    lead_refused: "La demande a été refusée : rien n'a changé.",
    subject_cancelled: "Changement de contacts annulé pour {service}",
    lead_cancelled: "La demande a été annulée : rien n'a changé.",
    subject_failed: "Échec du changement de contacts pour {service}",
    lead_failed: "Toutes les parties ont accepté, mais le changement n'a pas pu avoir lieu : {reason}. Rien n'a changé.",
    roles: ["administrateur", "technique", "de facturation"],
    reasons: [
        "les contacts du service ont changé entre-temps",
        "un contact de facturation n'est pas à jour de ses paiements",
        "le demandeur n'a plus le rôle qui lui permettait de la demander",
    ],
};

/// The words of the profile address change's mails, per language.
pub(super) struct EmailTexts {
    pub hello: &'static str,
    pub code: &'static str,
    pub footer: &'static str,
    pub subject_verify: &'static str,
    pub lead_verify: &'static str,
    pub personal_verify: &'static str,
    pub subject_asked: &'static str,
    pub lead_asked: &'static str,
    pub what_to_do: &'static str,
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
    hello: "Hello {name},",
    code: "Your verification code:",
    footer: "You receive this email because of a change to the profile of the account {account}.",
    subject_verify: "Verify your new email address",
    lead_verify: "You asked to use {new} as the email address of the account {account}. Open the link below to confirm it; until you do, mail keeps going to the current address.",
    personal_verify: "This code is personal and works once, until {expires}. If you did not ask for this change, ignore this email: nothing changes.",
    subject_asked: "A change of your email address was asked",
    lead_asked: "Someone signed in to the account {account} asked to send its mail to {new} from now on. It takes effect only if that address confirms it, by {expires}; until then mail keeps coming here.",
    what_to_do: "If it was you, there is nothing to do. If it was not, sign in, set your current address again in your profile (which cancels the change) and change your password: someone else may be using your account.",
};

const EMAIL_IT: EmailTexts = EmailTexts {
    hello: "Gentile {name},",
    code: "Il tuo codice di verifica:",
    footer: "Ricevi questa email per una modifica del profilo dell'account {account}.",
    subject_verify: "Verifica il tuo nuovo indirizzo email",
    lead_verify: "Hai chiesto di usare {new} come indirizzo email dell'account {account}. Apri il link qui sotto per confermarlo; finché non lo fai, la posta continua ad arrivare all'indirizzo attuale.",
    personal_verify: "Questo codice è personale e può essere utilizzato una sola volta, entro il {expires}. Se non hai chiesto questa modifica, ignora questa email: non cambia nulla.",
    subject_asked: "È stata chiesta una modifica del tuo indirizzo email",
    lead_asked: "Qualcuno con accesso all'account {account} ha chiesto di inviare d'ora in poi la posta a {new}. La modifica è effettiva solo se quell'indirizzo la conferma, entro il {expires}; fino ad allora la posta continua ad arrivare qui.",
    what_to_do: "Se sei stato tu, non devi fare nulla. Altrimenti accedi, reimposta il tuo indirizzo attuale nel profilo (la modifica viene annullata) e cambia la password: qualcun altro potrebbe usare il tuo account.",
};

const EMAIL_FR: EmailTexts = EmailTexts {
    hello: "Bonjour {name},",
    code: "Votre code de vérification :",
    footer: "Vous recevez cet e-mail à la suite d'une modification du profil du compte {account}.",
    subject_verify: "Vérifiez votre nouvelle adresse e-mail",
    lead_verify: "Vous avez demandé à utiliser {new} comme adresse e-mail du compte {account}. Ouvrez le lien ci-dessous pour la confirmer ; d'ici là, le courrier continue d'arriver à l'adresse actuelle.",
    personal_verify: "Ce code est personnel et ne sert qu'une fois, jusqu'au {expires}. Si vous n'avez pas demandé ce changement, ignorez cet e-mail : rien ne change.",
    subject_asked: "Un changement de votre adresse e-mail a été demandé",
    lead_asked: "Une personne connectée au compte {account} a demandé d'envoyer désormais son courrier à {new}. Le changement n'a lieu que si cette adresse le confirme, avant le {expires} ; d'ici là, le courrier continue d'arriver ici.",
    what_to_do: "Si c'était vous, vous n'avez rien à faire. Sinon, connectez-vous, indiquez de nouveau votre adresse actuelle dans votre profil (ce qui annule le changement) et changez votre mot de passe : quelqu'un d'autre utilise peut-être votre compte.",
};
