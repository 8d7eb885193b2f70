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
    reasons: ["the service's contacts changed in the meantime", "a billing contact is not in good standing with its payments", "the requester no longer holds the role that allowed it to ask"],
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
    reasons: ["i contatti del servizio sono cambiati nel frattempo", "un contatto di fatturazione non è in regola con i pagamenti", "il richiedente non ha più il ruolo che gli permetteva di chiederla"],
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
    reasons: ["les contacts du service ont changé entre-temps", "un contact de facturation n'est pas à jour de ses paiements", "le demandeur n'a plus le rôle qui lui permettait de la demander"],
};
