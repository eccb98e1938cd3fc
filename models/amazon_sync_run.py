from odoo import fields, models


class AmazonSyncRun(models.Model):
    """One run of a synchronization (orders or pickings), for the sync history."""

    _name = "amazon.sync.run"
    _description = "Amazon Synchronization Run"
    _order = "start desc, id desc"

    account_id = fields.Many2one("amazon.account", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    kind = fields.Selection(
        [("orders", "Orders"), ("pickings", "Pickings"), ("stock", "Stock")],
        required=True,
        default="orders",
    )
    trigger = fields.Selection(
        [("cron", "Scheduled"), ("manual", "Manual"), ("recover", "Recover Order")],
        default="manual",
    )
    start = fields.Datetime(required=True, default=fields.Datetime.now)
    duration = fields.Float(string="Duration (s)", digits=(16, 1))
    state = fields.Selection(
        [("running", "Running"), ("done", "Done"), ("error", "Failed"), ("skipped", "Skipped")],
        string="Status",
        default="running",
        required=True,
    )
    created_count = fields.Integer(string="Created")
    updated_count = fields.Integer(string="Updated")
    cancelled_count = fields.Integer(string="Cancelled")
    failed_count = fields.Integer(string="Failed")
    skipped_count = fields.Integer(string="Left for Later")
    api_calls = fields.Integer(string="API Calls")
    throttled_count = fields.Integer(string="Throttled (429)")
    error_summary = fields.Text(string="Errors")
