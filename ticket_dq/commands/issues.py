"""`ticket-dq issues` (being built; its owner replaces this module)."""


def register(sub):
    p = sub.add_parser("issues", help="(not built yet)")
    p.set_defaults(func=lambda args: (_ for _ in ()).throw(SystemExit("ticket-dq issues is not built yet")))
