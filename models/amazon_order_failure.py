from odoo import _, fields, models


class AmazonOrderFailure(models.Model):
    """An Amazon order the sync could not turn into a sale order (yet).

    Failures are retried by every later sync until the order syncs (the record is
    then marked resolved) or the seller dismisses it.
    """

    _name = "amazon.order.failure"
    _inherit = ["amazon.account.owned"]
    _description = "Amazon Order Sync Failure"
    _order = "last_attempt desc, id desc"
    _rec_name = "order_ref"

    order_ref = fields.Char(string="Amazon Order Reference", required=True, index=True)
    error = fields.Text(required=True)
    attempts = fields.Integer(default=1)
    first_attempt = fields.Datetime(default=fields.Datetime.now)
    last_attempt = fields.Datetime(default=fields.Datetime.now)
    state = fields.Selection(
        [("open", "To Retry"), ("resolved", "Resolved"), ("dismissed", "Dismissed")],
        string="Status",
        default="open",
        required=True,
        index=True,
    )
    notified = fields.Boolean(help="The salesperson was told about this failure by e-mail.")

    _sql_constraints = [
        (
            "order_ref_unique",
            "UNIQUE(account_id, order_ref)",
            "An Amazon order has at most one failure record per account.",
        ),
    ]

    def action_dismiss(self):
        self.write({"state": "dismissed"})

    def action_reopen(self):
        self.write({"state": "open"})

    def _record(self, account, order_ref, error):
        """Create or update the failure of ``order_ref``; returns it."""
        failure = self.search(
            [("account_id", "=", account.id), ("order_ref", "=", order_ref)], limit=1
        )
        now = fields.Datetime.now()
        if failure:
            failure.write(
                {
                    "error": error,
                    "attempts": failure.attempts + 1,
                    "last_attempt": now,
                    "state": "open" if failure.state == "resolved" else failure.state,
                }
            )
            return failure
        return self.create(
            {"account_id": account.id, "order_ref": order_ref or _("<unknown>"), "error": error}
        )
