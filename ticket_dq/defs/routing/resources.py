"""The ``notifier`` resource: notification channel settings, registered with ``dg.EnvVar`` so secrets
(the SMTP password) stay environment references and never land in run config or the UI.

A channel is enabled only when its variable is set when the code location loads (``file`` is
always on): the variables named in ``lib.channels.CHANNEL_SETTINGS`` (TICKET_DQ_SMTP_*, TICKET_DQ_WEBHOOK_*).
Unset variables are simply not wired, so a location without SMTP loads and runs.
"""

import dagster as dg

from ticket_dq import settings
from ticket_dq.lib import channels as channels_lib

ENV_FIELDS = channels_lib.CHANNEL_SETTINGS


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
