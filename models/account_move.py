# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io
from datetime import timedelta
from decimal import Decimal

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools.pdf import OdooPdfFileWriter

from ..amazon_sp import const
from ..amazon_sp import errors as amazon_errors
from ..amazon_sp import invoices as amazon_invoices

UPLOAD_CRON_XMLID = "sale_amazon_connector.ir_cron_upload_invoices"
INVOICE_REPORT = "account.account_invoices"


class AccountMove(models.Model):
    _inherit = "account.move"

    amazon_account_id = fields.Many2one(
        "amazon.account", readonly=True, copy=False, index="btree_not_null"
    )
    amazon_marketplace_id = fields.Many2one("amazon.marketplace", readonly=True, copy=False)
    amazon_settlement_id = fields.Many2one("amazon.settlement", readonly=True, copy=False)
    amazon_upload_state = fields.Selection(
        [("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")],
        string="Amazon Upload",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Whether Amazon has this invoice or credit note (its PDF, for the buyer). Pending "
        "documents are uploaded by the scheduled action 'Amazon: upload invoices', then "
        "Amazon's verdict is read; Sent: Amazon accepted it; Failed: see Amazon's message.",
    )
    amazon_upload_error = fields.Text(
        string="Amazon Upload Message", readonly=True, copy=False, help="Amazon's message."
    )
    amazon_upload_feed_ref = fields.Char(
        string="Amazon Upload Feed", readonly=True, copy=False, help="The feed that carried it."
    )
    amazon_upload_sent_at = fields.Datetime(
        string="Uploaded to Amazon On",
        readonly=True,
        copy=False,
        help="When the document was sent to Amazon (set before sending: a document whose "
        "sending was interrupted is never sent again blindly).",
    )
    amazon_transaction_ref = fields.Char(
        string="Amazon Refund Transaction",
        copy=False,
        help="Amazon's identifier of the refund a credit note answers: Amazon requires it "
        "with the credit note's upload.",
    )

    # --- Which documents are Amazon's ---------------------------------------------------------
    def _amazon_sale_documents(self):
        """Customer invoices and credit notes of Amazon orders.

        Runs when invoices are sent, by billing users who may not read the sale orders: the
        link to Amazon is read as superuser, nothing else."""
        amazon_ids = set(
            self.sudo()
            .filtered(
                lambda move: (
                    move.is_sale_document(include_receipts=True)
                    and (
                        move.amazon_account_id
                        or move.line_ids.sale_line_ids.order_id.amazon_account_id
                    )
                )
            )
            .ids
        )
        return self.filtered(lambda move: move.id in amazon_ids)

    def _amazon_order(self):
        """The Amazon order this invoice or credit note bills (as superuser; empty when it
        bills none, or several)."""
        self.ensure_one()
        move = self.sudo()
        orders = move.line_ids.sale_line_ids.order_id.filtered("amazon_order_ref")
        if not orders and move.reversed_entry_id:
            orders = move.reversed_entry_id.line_ids.sale_line_ids.order_id.filtered(
                "amazon_order_ref"
            )
        return orders if len(orders) == 1 else orders.browse()

    def _amazon_upload_documents(self):
        """Invoices and credit notes of ``self`` that go to Amazon: of an Amazon order on a
        marketplace taking invoice uploads, its account set to upload them."""
        result = self.browse()
        for move in self.filtered(lambda m: m.move_type in ("out_invoice", "out_refund")):
            order = move._amazon_order()
            if (
                order
                and order.amazon_account_id.upload_invoices
                and order.amazon_marketplace_id.api_ref in amazon_invoices.MARKETPLACES
            ):
                result |= move
        return result

    # --- Sending by e-mail: not for Amazon buyers ----------------------------------------------
    def _amazon_check_not_sent(self):
        amazon = self._amazon_sale_documents()
        if not amazon:
            return
        uploaded = amazon.sudo()._amazon_upload_documents()
        if uploaded:
            raise UserError(
                _(
                    "Invoices of Amazon orders cannot be e-mailed: Amazon does not give the "
                    "buyer's e-mail address. These go to Amazon instead: they are uploaded "
                    "automatically once posted, and Amazon shows them to the buyer (see "
                    "'Amazon Upload' on each). Concerned: %(names)s.",
                    names=", ".join(amazon.mapped("name")),
                )
            )
        raise UserError(
            _(
                "Invoices of Amazon orders cannot be e-mailed: Amazon does not give the "
                "buyer's e-mail address (messages go through Seller Central). Print the "
                "invoice (Print ▶ Invoices) and upload the PDF in Seller Central (Orders ▶ "
                "Manage Orders ▶ Upload invoice). Concerned: %(names)s.",
                names=", ".join(amazon.mapped("name")),
            )
        )

    def action_send_and_print(self):
        self._amazon_check_not_sent()
        return super().action_send_and_print()

    def action_invoice_sent(self):
        self._amazon_check_not_sent()
        return super().action_invoice_sent()

    # --- Posting: Spanish simplified invoices, uploads queued ----------------------------------
    def _post(self, soft=True):
        self._amazon_set_simplified()
        posted = super()._post(soft)
        to_upload = (
            posted.sudo()
            ._amazon_upload_documents()
            .filtered(lambda m: m.state == "posted" and not m.amazon_upload_state)
        )
        if to_upload:
            for move in to_upload:
                order = move._amazon_order()
                move.write(
                    {
                        "amazon_upload_state": "pending",
                        "amazon_upload_error": False,
                        "amazon_account_id": order.amazon_account_id.id,
                        "amazon_marketplace_id": order.amazon_marketplace_id.id,
                    }
                )
            # Uploaded by the cron after this transaction commits: posting never waits
            # for Amazon.
            cron = self.env.ref(UPLOAD_CRON_XMLID, raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        return posted

    def _amazon_set_simplified(self):
        """With Spain's localization (l10n_es): documents of Amazon orders of a Spanish
        company are simplified invoices (facturas simplificadas) unless the buyer is a
        business that gave its VAT number. Without l10n_es nothing changes."""
        if "l10n_es_is_simplified" not in self._fields:
            return
        for move in self.filtered(
            lambda m: m.is_sale_document() and m.country_code == "ES" and m.state == "draft"
        ):
            order = move._amazon_order()
            if not order:
                continue
            full = order.amazon_is_business and bool(move.commercial_partner_id.vat)
            if move.l10n_es_is_simplified == full:
                move.l10n_es_is_simplified = not full

    # --- The upload (by the invoices cron) ------------------------------------------------------
    def _amazon_pdf(self):
        """This document's PDF, Odoo's own invoice report (the attachment of a posted
        invoice once printed).

        Inside Odoo's tests, Odoo renders reports as HTML (wkhtmltopdf or not, the same on
        every machine): the HTML rendering is then carried in a one-page PDF (as an attached
        file), so the upload sends what Amazon takes, application/pdf.

        :raise UserError: wkhtmltopdf is missing (outside tests)"""
        self.ensure_one()
        Report = self.env["ir.actions.report"].sudo()
        testing = self.env["amazon.account"]._amazon_in_test_mode()
        content, kind = Report._render_qweb_pdf(INVOICE_REPORT, self.ids)
        if kind == "pdf":
            return content
        if not testing:
            raise UserError(_("The invoice's PDF could not be rendered (%(kind)s).", kind=kind))
        writer = OdooPdfFileWriter()
        writer.add_blank_page(595, 842)
        writer.addAttachment(f"{self.name}.html".replace("/", "_"), content, subtype="text/html")
        stream = io.BytesIO()
        writer.write(stream)
        return stream.getvalue()

    def _amazon_vat_invoice(self, order):
        """This document as ``amazon_sp.invoices.VatInvoice``. :raise UserError:"""
        self.ensure_one()
        credit = self.move_type == "out_refund"
        return amazon_invoices.VatInvoice(
            marketplace_id=order.amazon_marketplace_id.api_ref,
            order_id=order.amazon_order_ref,
            invoice_number=self.name,
            document_type=amazon_invoices.CREDIT_NOTE if credit else amazon_invoices.INVOICE,
            total_amount=self._amazon_decimal(self.amount_total),
            total_vat_amount=self._amazon_decimal(self.amount_tax),
            transaction_id=self.amazon_transaction_ref or None,
            pdf=self._amazon_pdf(),
        )

    def _amazon_decimal(self, amount):
        rounded = self.currency_id.round(amount)
        return Decimal(f"{rounded:.{self.currency_id.decimal_places}f}")

    def _amazon_upload(self, api, outcome):
        """Upload this pending document (one UPLOAD_VAT_INVOICE feed); returns the outcome
        key: created (sent, Amazon's verdict to come), failed, skipped (answer lost).
        Errors of the whole account are raised (the document stays pending)."""
        self.ensure_one()
        if self.amazon_upload_sent_at:
            # A previous run sent it and did not learn the feed: it may be on Amazon.
            return self._amazon_upload_failed(
                _(
                    "Not sent again: an earlier upload (%(date)s) was interrupted and may "
                    "have reached Amazon. Check the order in Seller Central; if the "
                    "invoice is not there, press 'Upload to Amazon again'.",
                    date=self.amazon_upload_sent_at,
                ),
                outcome,
            )
        order = self._amazon_order()
        try:
            if not order:
                raise UserError(_("The document bills no single Amazon order."))
            document = self._amazon_vat_invoice(order)
            amazon_invoices.feed_options(document)
            amazon_invoices.check_pdf(document.pdf)
        except (UserError, amazon_invoices.InvoiceError) as exc:
            return self._amazon_upload_failed(
                exc.args[0] if isinstance(exc, UserError) else str(exc), outcome
            )
        account = self.amazon_account_id or order.amazon_account_id
        # Marked (and committed) before sending: should the process die while the feed
        # is on its way, the next run does not send it again.
        self.amazon_upload_sent_at = fields.Datetime.now()
        account._amazon_commit()
        try:
            sent = api.upload(document)
        except amazon_errors.SpApiOutOfTimeError as exc:
            # The run's time is up before createFeed went out (raised before sending, and
            # createFeed is retried only after a 429): uploaded by a later run. Should it
            # ever say the feed may exist, the mark stays: never uploaded twice blindly.
            if not exc.outcome_unknown:
                self.amazon_upload_sent_at = False
            raise
        except amazon_invoices.InvoiceError as exc:
            return self._amazon_upload_failed(str(exc), outcome)
        except (amazon_errors.SpApiBadRequestError, amazon_errors.SpApiNotFoundError) as exc:
            if exc.outcome_unknown:
                raise
            return self._amazon_upload_failed(str(exc), outcome)
        except amazon_errors.SpApiError as exc:
            if exc.outcome_unknown:
                outcome.failures.append(f"{self.name}: {exc}")
                self.amazon_upload_error = _(
                    "Amazon's answer was lost (%(error)s): the upload is not repeated "
                    "automatically.",
                    error=str(exc),
                )
                return "skipped"
            self.amazon_upload_sent_at = False  # nothing reached Amazon: sent next run
            raise
        self.write({"amazon_upload_feed_ref": sent.feed_id, "amazon_upload_error": False})
        self.message_post(
            body=_(
                "Uploaded to Amazon (feed %(feed)s); Amazon's verdict follows.", feed=sent.feed_id
            ),
            subtype_xmlid="mail.mt_note",
        )
        return "created"

    def _amazon_read_upload(self, api, outcome):
        """Read Amazon's verdict on this uploaded document; returns the outcome key:
        updated (accepted), failed, or None (Amazon still processes it)."""
        self.ensure_one()
        result = api.result(self.amazon_upload_feed_ref)
        if result is None:
            stale = fields.Datetime.now() - timedelta(hours=const.FEED_STALE_HOURS)
            if self.amazon_upload_sent_at and self.amazon_upload_sent_at < stale:
                return self._amazon_upload_failed(
                    _(
                        "Amazon had not processed the upload after %(hours)s hours.",
                        hours=const.FEED_STALE_HOURS,
                    ),
                    outcome,
                )
            return None
        if not result.accepted:
            return self._amazon_upload_failed(result.message, outcome)
        self.write({"amazon_upload_state": "sent", "amazon_upload_error": False})
        self.message_post(
            body=_("Amazon accepted the document (feed %(feed)s).", feed=result.feed_id),
            subtype_xmlid="mail.mt_note",
        )
        return "updated"

    def _amazon_upload_failed(self, error, outcome):
        self.write({"amazon_upload_state": "failed", "amazon_upload_error": error})
        self.message_post(
            body=_("Amazon did not take %(name)s:\n%(error)s", name=self.name, error=error),
            subtype_xmlid="mail.mt_note",
        )
        outcome.failures.append(f"{self.name}: {error}")
        return "failed"

    def action_amazon_upload_again(self):
        """Upload these failed documents to Amazon again, now."""
        moves = self.filtered(lambda m: m.amazon_upload_state == "failed")
        if not moves:
            raise UserError(_("None of these documents failed to reach Amazon."))
        moves.write(
            {
                "amazon_upload_state": "pending",
                "amazon_upload_error": False,
                "amazon_upload_feed_ref": False,
                "amazon_upload_sent_at": False,
            }
        )
        for account in moves.sudo().amazon_account_id:
            account._upload_invoices(
                trigger="manual",
                moves=moves.filtered(lambda m, a=account: m.sudo().amazon_account_id == a),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Amazon"),
                "message": _("Sent to Amazon: its verdict shows on the document within minutes."),
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
