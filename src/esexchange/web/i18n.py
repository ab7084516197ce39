"""The console's languages: English, and German for the product's home market.

Templates write English and call ``t("...")``; ``GERMAN`` maps each text to German. The
language comes from the ``esx_lang`` cookie (the switch in the page header) or else the
browser's Accept-Language.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

LANGUAGES = ("en", "de")
COOKIE = "esx_lang"

GERMAN: dict[str, str] = {
    "Sign in": "Anmelden",
    "Sign out": "Abmelden",
    "Name": "Name",
    "Password": "Passwort",
    "Wrong name or password.": "Name oder Passwort falsch.",
    "Too many wrong passwords: wait {n} seconds, then try again.":
        "Zu viele falsche Passwörter: {n} Sekunden warten, dann erneut versuchen.",
    "Status": "Status",
    "Connections": "Verbindungen",
    "Connection": "Verbindung",
    "Options": "Optionen",
    "Personnel": "Personal",
    "Activity types": "Aktivitätsarten",
    "Audit log": "Protokoll",
    "Workers": "Dienste",
    "Add connection": "Verbindung hinzufügen",
    "Edit": "Bearbeiten",
    "Save": "Speichern",
    "Backend": "Backend",
    "Authentication": "Authentifizierung",
    "User (UPN and password)": "Benutzer (UPN und Passwort)",
    "OAuth 2.0 app (tenant, client id, client secret)":
        "OAuth-2.0-App (Mandant, Client-ID, geheimer Clientschlüssel)",
    "UPN of the service account": "UPN des Dienstkontos",
    "Tenant id": "Mandanten-ID",
    "Client id": "Client-ID",
    "Client secret": "Geheimer Clientschlüssel",
    "Server": "Server",
    "EWS URL": "EWS-URL",
    "Autodiscover address": "Autodiscover-Adresse",
    "Find the server by Autodiscover": "Server per Autodiscover finden",
    "Type in the EWS URL": "EWS-URL eingeben",
    "stored; leave empty to keep it": "gespeichert; leer lassen, um es zu behalten",
    "never shown again": "wird nie wieder angezeigt",
    "Check connection": "Verbindung prüfen",
    "Request auth. token": "Auth.-Token anfordern",
    "Check assignment": "Zuordnung prüfen",
    "Not synchronized": "Nicht synchronisiert",
    "Synchronized": "Synchronisiert",
    "Search": "Suchen",
    "Employment": "Beschäftigung",
    "Mailbox": "Postfach",
    "Last pass": "Letzter Lauf",
    "Next pass": "Nächster Lauf",
    "ERP → Exchange": "ERP → Exchange",
    "Exchange → ERP": "Exchange → ERP",
    "Problem": "Problem",
    "Conflicts": "Konflikte",
    "Field": "Feld",
    "ERP value": "Wert im ERP",
    "Exchange value": "Wert in Exchange",
    "Won": "Gewonnen",
    "Deletions held": "Zurückgehaltene Löschungen",
    "Approve deletions": "Löschungen freigeben",
    "Reject deletions": "Löschungen ablehnen",
    "State": "Stand",
    "open": "offen",
    "resolved": "erledigt",
    "other side applied by": "andere Seite übernommen von",
    "Apply the Exchange value": "Wert aus Exchange übernehmen",
    "Apply the ERP value": "Wert aus dem ERP übernehmen",
    "Take over for this installation": "Für diese Installation übernehmen",
    "Parked items": "Zurückgestellte Elemente",
    "attempts": "Versuche",
    "next try": "nächster Versuch",
    "Category in Outlook": "Kategorie in Outlook",
    "Colour": "Farbe",
    "Type": "Art",
    "Description": "Beschreibung",
    "Value": "Wert",
    "Default": "Standard",
    "effective now": "gilt jetzt",
    "When": "Wann",
    "Action": "Aktion",
    "Item": "Element",
    "Detail": "Detail",
    "Employee": "Mitarbeiter",
    "Day": "Tag",
    "Page {page} of {pages}": "Seite {page} von {pages}",
    "Previous": "Zurück",
    "Next": "Weiter",
    "Worker": "Dienst",
    "Started": "Gestartet",
    "Last seen": "Zuletzt gesehen",
    "Holds": "Hält",
    "Graph change notifications of this worker":
        "Graph-Änderungsbenachrichtigungen dieses Workers",
    "Changes arrive by": "Änderungen kommen per",
    "notifications": "Benachrichtigungen",
    "running": "läuft",
    "gone": "beendet",
    "none": "keine",
    "never": "nie",
    "due now": "jetzt fällig",
    "No connection yet.": "Noch keine Verbindung.",
    "Nothing yet.": "Noch nichts.",
    "ok": "ok",
    "failed": "fehlgeschlagen",
    "partial": "teilweise",
    "skipped": "übersprungen",
    "Saved.": "Gespeichert.",
    "Move selected": "Auswahl verschieben",
    "Move all": "Alle verschieben",
    "Settings per employee": "Einstellungen je Mitarbeiter",
    "Appointments": "Termine",
    "Delete appointments in Exchange": "Termine in Exchange löschen",
    "Delete appointments in the ERP": "Termine im ERP löschen",
    "No private appointments": "Keine privaten Termine",
    "Tasks": "Aufgaben",
    "Delete tasks in Exchange": "Aufgaben in Exchange löschen",
    "Delete tasks in the ERP": "Aufgaben im ERP löschen",
    "No private tasks": "Keine privaten Aufgaben",
    "Transfer contacts": "Kontakte übertragen",
    "active": "aktiv",
    "inactive": "inaktiv",
    "left": "ausgeschieden",
    "The form is missing its security token or it has expired; reload the page.":
        "Dem Formular fehlt sein Sicherheitstoken oder es ist abgelaufen; "
        "Seite neu laden.",
    "Mailboxes per connection: when each had its last pass, what moved, what went wrong.":
        "Postfächer je Verbindung: letzter Lauf, was übertragen wurde, was schiefging.",
    "Start here: add a connection to your Exchange, check it, then choose the personnel.":
        "Hier beginnen: eine Verbindung zu Exchange anlegen, prüfen, dann das Personal "
        "auswählen.",
}


def language(request: Request) -> str:
    """The viewer's language: the switch's cookie, else the browser's first known one."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translator(lang: str) -> Callable[..., str]:
    """``t(text, **values)``: ``text`` in ``lang``, with ``{name}`` filled in."""

    def t(text: str, **values: object) -> str:
        shown = GERMAN.get(text, text) if lang == "de" else text
        return shown.format(**values) if values else shown

    return t
