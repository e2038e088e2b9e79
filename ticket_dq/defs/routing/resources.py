"""The ``notifier`` resource: notification channel settings, registered with ``dg.EnvVar`` so secrets
(the SMTP password) stay environment references and never land in run config or the UI.

A channel is enabled only when its variable is set when the code location loads (``file`` is
always on): TICKET_DQ_SMTP_HOST / _PORT / _USER / _PASSWORD / _FROM / _STARTTLS / _CAFILE, TICKET_DQ_WEBHOOK_URL
/ _FORMAT. Unset variables are simply not wired, so a location without SMTP loads and runs.
"""

import dagster as dg

from ticket_dq import settings
from ticket_dq.lib import channels as channels_lib

ENV_FIELDS = {
    "smtp_host": "TICKET_DQ_SMTP_HOST", "smtp_port": "TICKET_DQ_SMTP_PORT", "smtp_user": "TICKET_DQ_SMTP_USER",
    "smtp_password": "TICKET_DQ_SMTP_PASSWORD", "smtp_from": "TICKET_DQ_SMTP_FROM",
    "smtp_starttls": "TICKET_DQ_SMTP_STARTTLS", "smtp_cafile": "TICKET_DQ_SMTP_CAFILE",
    "webhook_url": "TICKET_DQ_WEBHOOK_URL",
    "webhook_format": "TICKET_DQ_WEBHOOK_FORMAT",
}


class NotifierResource(dg.ConfigurableResource):
    """Builds the enabled channels (file always; SMTP / webhook when configured)."""
    smtp_host: str = ""
    smtp_port: str = ""
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: str = ""
    smtp_cafile: str = ""
    webhook_url: str = ""
    webhook_format: str = ""

    def channels(self) -> dict:
        values = {env: getattr(self, field) or None for field, env in ENV_FIELDS.items()}
        return channels_lib.channels_from_env(values.get)


def notifier_from_env() -> NotifierResource:
    """Wire every variable that is set as an EnvVar (resolved at run time, not baked into config)."""
    return NotifierResource(**{field: dg.EnvVar(env) for field, env in ENV_FIELDS.items() if settings.env(env)})


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(resources={"notifier": notifier_from_env()})
