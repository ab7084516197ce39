"""What each connection option and per-employee setting does, as the console explains it
(DESIGN.md section 3)."""

from __future__ import annotations

from dataclasses import fields

from esexchange.domain.options import OPTION_KEYS, EmployeeSettings

OPTION_HELP: dict[str, str] = {
    "appointment_sync": "Synchronize appointments over this connection.",
    "interval_minutes": "Minutes between two searches of the ERP for changes; every "
                        "synchronized mailbox has a pass this often.",
    "start_sync_at": "Changes from this moment on are observed. A value in the future or "
                     "more than 30 days back becomes now minus 30 days; afterwards it "
                     "follows the last successful pass.",
    "default_activity_type_appointment": "Activity type of appointments made in Outlook "
                                         "when no category says otherwise.",
    "default_activity_type_task": "Activity type of tasks made in Outlook when no category "
                                  "says otherwise.",
    "priority_low": "The ERP priority for Outlook's Low importance.",
    "priority_normal": "The ERP priority for Outlook's Normal importance; an unmapped ERP "
                       "priority goes out as Normal.",
    "priority_high": "The ERP priority for Outlook's High importance.",
    "sync_activity_type": "Activity types become Outlook categories ES_<no>_<description>, "
                          "with their colours, and back.",
    "priority_as_text": "Add the ERP priority to the Exchange body, in a marked trailer "
                        "that is removed again on import.",
    "equipment_as_text": "Add the equipment (comma separated) to the Exchange body, in a "
                         "marked trailer that is removed again on import.",
    "alternative_text_sync": "The ERP owns the text: body edits made in Exchange are not "
                             "imported (for ERP texts Outlook's HTML would damage).",
    "allow_address_book_sync": "Contact persons may be transferred (per employee, see "
                               "Personnel).",
    "conflict_policy": "Who wins a field changed on both sides: newer_wins, erp_wins or "
                       "exchange_wins.",
    "erp_time_zone": "IANA time zone of the ERP's times (Europe/Berlin); empty: the "
                     "host's zone.",
    "window_future_days": "How many days ahead appointments are followed.",
    "delete_guard_percent": "A pass that would delete more than this share of a mailbox's "
                            "linked appointments or of its linked tasks (and more than 10) "
                            "holds the deletions for approval.",
    "graph_notification_url": "Graph connections: the public HTTPS address at which "
                              "Microsoft Graph reaches this service's /graph/notifications "
                              "(change notifications, seconds after an Outlook change). "
                              "Empty: a delta poll per mailbox every few seconds.",
}
assert set(OPTION_HELP) == set(OPTION_KEYS), "every option has its help text"

SETTING_KEYS: tuple[str, ...] = tuple(f.name for f in fields(EmployeeSettings))
"""The nine per-employee switches, in the order the product description lists them."""

SETTING_LABELS: dict[str, str] = {
    "appointments": "Appointments",
    "delete_appointments_in_exchange": "Delete appointments in Exchange",
    "delete_appointments_in_erp": "Delete appointments in the ERP",
    "no_private_appointments": "No private appointments",
    "tasks": "Tasks",
    "delete_tasks_in_exchange": "Delete tasks in Exchange",
    "delete_tasks_in_erp": "Delete tasks in the ERP",
    "no_private_tasks": "No private tasks",
    "transfer_contacts": "Transfer contacts",
}
assert set(SETTING_LABELS) == set(SETTING_KEYS), "every switch has its label"
