# Part of sale_amazon_connector. License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_round

from ..amazon_sp import carriers, const
from ..amazon_sp import errors as amazon_errors
from ..amazon_sp import shipments as amazon_shipments

PICKING_CRON_XMLID = "sale_amazon_connector.ir_cron_sync_pickings"


class StockPicking(models.Model):
    _inherit = "stock.picking"

    amazon_sync_status = fields.Selection(
        [("pending", "Pending"), ("done", "Synced with Amazon"), ("error", "Amazon sync failed")],
        string="Amazon Sync",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Whether Amazon knows that this delivery of an Amazon order (fulfilled by the "
        "merchant) shipped. Pending deliveries are sent by the scheduled action "
        "'Amazon: synchronize pickings', right after validation and then every 30 minutes.",
    )
    amazon_sync_error = fields.Text(readonly=True, copy=False)
    amazon_sync_attempts = fields.Integer(
        string="Amazon Confirmations Sent",
        readonly=True,
        copy=False,
        help="Shipment confirmations sent (or that may have reached Amazon). From the second "
        "one on, the order is read on Amazon first, so a shipment is never confirmed twice.",
    )
    amazon_sync_unsure = fields.Boolean(
        string="Amazon May Have It",
        readonly=True,
        copy=False,
        help="An earlier confirmation of this delivery may have reached Amazon, and Amazon's "
        "order neither shows it nor rules it out: Odoo does not send it again by itself. Check "
        "the order in Seller Central, then click 'Confirmed on Amazon' or 'Send again'.",
    )
    amazon_resend_confirmed = fields.Boolean(
        readonly=True,
        copy=False,
        help="A user asked to send this confirmation again although Amazon may have it: the "
        "next send skips the check on Amazon, once.",
    )
    amazon_order_ref = fields.Char(related="sale_id.amazon_order_ref", string="Amazon Reference")

    # --- Which pickings are shipments for Amazon ------------------------------------------
    def _amazon_is_fbm_delivery(self):
        """Pickings of ``self`` that deliver an FBM Amazon order to its buyer.

        Runs in every validation, by warehouse users who may not see the sale order (sales
        rights "own documents only"): the two Amazon facts are read as superuser, nothing
        else of the order."""
        fbm_ids = set(
            self.sudo()
            .filtered(
                lambda p: (
                    p.picking_type_code == "outgoing"
                    and p.sale_id.amazon_channel == "fbm"
                    and p.sale_id.amazon_account_id
                )
            )
            .ids
        )
        return self.filtered(lambda p: p.id in fbm_ids)

    def _amazon_carrier_fetches_tracking(self):
        """Whether validation itself asks the carrier for the tracking reference
        (shipping connector integrated with the carrier, label printed at validation)."""
        self.ensure_one()
        return (
            self.carrier_id.integration_level == "rate_and_ship"
            and self.picking_type_id.print_label
        )

    def _amazon_check_shipping_info(self, after_done=False):
        """Stop the validation of FBM Amazon deliveries lacking a usable carrier or
        tracking reference: Amazon requires both, in every marketplace."""
        for picking in self._amazon_is_fbm_delivery():
            ref = picking.amazon_order_ref
            if not picking.carrier_id or not (picking.carrier_id.name or "").strip():
                raise UserError(
                    _(
                        "Delivery %(picking)s ships Amazon order %(ref)s: Amazon needs its "
                        "carrier. Set the Carrier (Additional Info tab) before validating.",
                        picking=picking.name,
                        ref=ref,
                    )
                )
            if not after_done and picking._amazon_carrier_fetches_tracking():
                continue  # the carrier gives the tracking reference during validation
            error = picking._amazon_tracking_error()
            if error:
                raise UserError(error)

    def _amazon_tracking_error(self):
        """Translated reason why the tracking reference cannot be sent, or None."""
        self.ensure_one()
        try:
            carriers.validate_tracking_ref(self.carrier_tracking_ref)
        except carriers.InvalidTrackingRef as exc:
            reasons = {
                carriers.TRACKING_EMPTY: _(
                    "Delivery %(picking)s ships Amazon order %(ref)s: Amazon needs its tracking "
                    "reference. Fill in the Tracking Reference before validating."
                ),
                carriers.TRACKING_TOO_LONG: _(
                    "The tracking reference of delivery %(picking)s is longer than %(max)s "
                    "characters: Amazon would refuse it. Check it before validating."
                ),
                carriers.TRACKING_CONTROL_CHARS: _(
                    "The tracking reference of delivery %(picking)s contains line breaks or "
                    "tabs: Amazon would refuse it. Check it before validating."
                ),
            }
            return reasons[exc.reason] % {
                "picking": self.name,
                "ref": self.amazon_order_ref,
                "max": const.TRACKING_REF_MAX_LENGTH,
            }
        return None

    # --- Validation -------------------------------------------------------------------------
    def button_validate(self):
        # Before any wizard (backorder...) shows up: the user fixes the picking first.
        self._amazon_check_shipping_info()
        return super().button_validate()

    def _action_done(self):
        self._amazon_check_shipping_info()
        result = super()._action_done()
        shipped = self._amazon_is_fbm_delivery().filtered(
            lambda p: p.state == "done" and not p.amazon_sync_status
        )
        if shipped:
            # An integrated carrier filled the tracking reference during validation.
            shipped._amazon_check_shipping_info(after_done=True)
            # Sent by the pickings cron after this transaction commits: a slow or
            # unreachable Amazon never blocks the warehouse.
            shipped.write({"amazon_sync_status": "pending", "amazon_sync_error": False})
            cron = self.sudo().env.ref(PICKING_CRON_XMLID, raise_if_not_found=False)
            if cron:
                cron.sudo()._trigger()
        return result

    # --- What the shipment confirmation carries ---------------------------------------------
    def _amazon_shipment_items(self):
        """``[(amazon_order_item_id, quantity)]`` shipped by this (done) picking.

        Quantities are the done quantities in the order line's unit. A kit (phantom bill of
        materials, with mrp installed) counts only whole kits: those completed by this picking
        given the deliveries validated before it.

        :raise UserError: for a quantity that is not a whole number of units
        """
        self.ensure_one()
        moves = self.move_ids.filtered(
            lambda m: m.state == "done" and not m.scrapped and m.sale_line_id.amazon_item_ref
        )
        items = []
        for line in moves.sale_line_id:
            line_moves = moves.filtered(lambda m, line=line: m.sale_line_id == line)
            kit = self._amazon_kit_bom(line, line_moves)
            if kit:
                quantity = self._amazon_kit_quantity(line, line_moves, kit)
            else:
                quantity = sum(
                    move.product_uom._compute_quantity(move.quantity, line.product_uom)
                    for move in line_moves
                )
            whole = float_round(quantity, precision_digits=0)
            if float_compare(quantity, whole, precision_rounding=line.product_uom.rounding):
                raise UserError(
                    _(
                        "Delivery %(picking)s ships %(qty)s %(uom)s of %(product)s: Amazon only "
                        "accepts whole units.",
                        picking=self.name,
                        qty=quantity,
                        uom=line.product_uom.name,
                        product=line.product_id.display_name,
                    )
                )
            if whole >= 1:
                items.append((line.amazon_item_ref, int(whole)))
        return items

    def _amazon_kit_bom(self, line, moves):
        """The kit bill of materials the moves of ``line`` come from (mrp installed), or None."""
        if "bom_line_id" not in moves._fields:
            return None
        boms = moves.bom_line_id.bom_id.filtered(
            lambda b: (
                b.type == "phantom"
                and (
                    b.product_id == line.product_id
                    or (not b.product_id and b.product_tmpl_id == line.product_id.product_tmpl_id)
                )
            )
        )
        return boms[:1] or None

    def _amazon_kit_quantity(self, line, moves, bom):
        """Whole kits of ``line`` completed by this picking."""
        earlier = line.move_ids.filtered(
            lambda m: (
                m.state == "done"
                and not m.scrapped
                and m.picking_id
                and m.picking_id != self
                and m.location_dest_id.usage == "customer"
                and (m.picking_id.date_done, m.picking_id.id) < (self.date_done, self.id)
            )
        )
        filters = {
            "incoming_moves": lambda m: m.location_dest_id.usage == "customer",
            "outgoing_moves": lambda m: False,
        }
        ordered = line.product_uom._compute_quantity(line.product_uom_qty, bom.product_uom_id)

        def kits(kit_moves):
            if not kit_moves:
                return 0.0
            done = kit_moves._compute_kit_quantities(line.product_id, ordered, bom, filters)
            return bom.product_uom_id._compute_quantity(done, line.product_uom)

        return kits(earlier | moves) - kits(earlier)

    # --- Sync status ------------------------------------------------------------------------
    def _amazon_mark_synced(self, note):
        self.write(
            {"amazon_sync_status": "done", "amazon_sync_error": False, "amazon_sync_unsure": False}
        )
        for picking in self:
            picking.message_post(body=note, subtype_xmlid="mail.mt_note")

    def _amazon_mark_failed(self, error, unsure=False):
        self.write(
            {
                "amazon_sync_status": "error",
                "amazon_sync_error": error,
                "amazon_sync_unsure": unsure,
            }
        )
        for picking in self:
            picking.message_post(
                body=_(
                    "Amazon did not accept the shipment confirmation of %(picking)s:\n%(error)s",
                    picking=picking.name,
                    error=error,
                ),
                subtype_xmlid="mail.mt_note",
            )

    # --- Shipment confirmation (by the picking sync) ----------------------------------------
    @api.model
    def _amazon_pending(self, account, pickings=None):
        """The done FBM deliveries of ``account`` (or of ``pickings``) whose shipment
        Amazon does not know yet, oldest first."""
        domain = [
            ("amazon_sync_status", "=", "pending"),
            ("state", "=", "done"),
            ("sale_id.amazon_account_id", "=", account.id),
        ]
        if pickings is not None:
            domain.append(("id", "in", pickings.ids))
        return self.search(domain, order="date_done, id")

    def _amazon_send_shipment(self, client, outcome):
        """Confirm this delivery's shipment to Amazon (``confirmShipment``); returns the
        outcome key: created (confirmed), updated (Amazon already knew it), failed,
        skipped (answer lost: sent again later). Errors of the whole account
        (authentication, throttling, Amazon unreachable) are raised."""
        self.ensure_one()
        order = self.sale_id
        try:
            items = self._amazon_shipment_items()
            tracking = self._amazon_tracking_error()
            if tracking:
                raise UserError(tracking)
            if not self.carrier_id:
                raise UserError(_("The delivery has no carrier."))
        except UserError as exc:
            return self._amazon_shipment_failed(exc.args[0], outcome)
        if not items:
            self._amazon_mark_synced(
                _(
                    "Nothing to confirm to Amazon: this delivery completes no order item yet "
                    "(kits count once all their components shipped)."
                )
            )
            return "updated"
        orders_api = client.orders_api(order.amazon_account_id.orders_api_version)
        attempts = self.amazon_sync_attempts
        try:
            if self.amazon_sync_attempts and not self.amazon_resend_confirmed:
                # An earlier confirmation may have reached Amazon: look before resending.
                check = orders_api.check_shipment(
                    order.amazon_order_ref,
                    self.id,
                    items,
                    tracking_number=self.carrier_tracking_ref,
                )
                found = check.verdict
                if found == amazon_shipments.UNSURE:
                    # Amazon's packages neither show this shipment nor rule it out: a
                    # resend could ship the items twice. The user decides.
                    return self._amazon_shipment_failed(
                        _(
                            "Not sent again: Amazon may already have this shipment. Check "
                            "the order in Seller Central. %(reason)s",
                            reason=check.reason,
                        ),
                        outcome,
                        unsure=True,
                    )
                if found:
                    self._amazon_mark_synced(
                        _(
                            "Amazon already had this shipment (package %(package)s).",
                            package=self.id,
                        )
                        if found == amazon_shipments.PACKAGE_FOUND
                        else _("Amazon already reports these items as shipped: nothing was resent.")
                    )
                    return "updated"
            # Counted (and committed) before sending: should the process die while the
            # request is on its way, the next run reads the order on Amazon first. A
            # user's "Send again" skips the check for this one send only.
            self.write(
                {
                    "amazon_sync_attempts": self.amazon_sync_attempts + 1,
                    "amazon_resend_confirmed": False,
                }
            )
            order.amazon_account_id._amazon_commit()
            orders_api.confirm_shipment(
                order.amazon_order_ref,
                marketplace_id=order.amazon_marketplace_id.api_ref,
                package_reference_id=self.id,
                carrier_code=self.carrier_id.name,
                tracking_number=self.carrier_tracking_ref,
                ship_date=self.date_done,
                items=items,
            )
        except amazon_errors.SpApiOutOfTimeError as exc:
            # The run's time is up before anything was sent (the client raises it before
            # sending; confirmShipment is retried only after a 429): no failure, nothing
            # unsure. The attempt counted above did not happen; earlier ones stay counted,
            # so a send that may have reached Amazon is still checked before the next one.
            if not exc.outcome_unknown and self.amazon_sync_attempts != attempts:
                self.amazon_sync_attempts = attempts
            raise
        except (amazon_errors.SpApiBadRequestError, amazon_errors.SpApiNotFoundError) as exc:
            if exc.outcome_unknown:
                raise
            return self._amazon_shipment_failed(str(exc), outcome)
        except amazon_errors.SpApiError as exc:
            if not exc.outcome_unknown:
                raise
            self.amazon_sync_error = _(
                "Amazon's answer was lost (%(error)s). The delivery stays pending; before "
                "sending it again, the order is checked on Amazon.",
                error=str(exc),
            )
            outcome.failures.append(f"{self.name}: {exc}")
            return "skipped"
        self._amazon_mark_synced(
            _(
                "Shipment confirmed to Amazon: %(items)s item(s) with %(carrier)s, tracking "
                "%(tracking)s.",
                items=sum(qty for _item, qty in items),
                carrier=self.carrier_id.name,
                tracking=self.carrier_tracking_ref,
            )
        )
        return "created"

    def _amazon_shipment_failed(self, error, outcome, unsure=False):
        self._amazon_mark_failed(error, unsure=unsure)
        outcome.failures.append(f"{self.name}: {error}")
        return "failed"

    def action_retry_amazon_sync(self):
        """Send the shipment confirmation of these deliveries to Amazon again, now."""
        pickings = self._amazon_is_fbm_delivery().filtered(
            lambda p: p.state == "done" and p.amazon_sync_status in ("error", "pending")
        )
        if not pickings:
            raise UserError(_("None of these deliveries has a shipment to send to Amazon."))
        # Who may validate them may send them (the write checks it, before any call to
        # Amazon); the account is read as superuser, the user may not see the sale orders.
        pickings.write(
            {
                "amazon_sync_status": "pending",
                "amazon_sync_error": False,
                "amazon_sync_unsure": False,
            }
        )
        return pickings._amazon_send_now()

    def _amazon_send_now(self):
        """Run the pickings sync of their accounts for these (pending) deliveries now and
        tell the user how it went."""
        pickings = self
        for account in pickings.sudo().sale_id.amazon_account_id:
            account._sync_pickings(
                trigger="manual",
                pickings=pickings.filtered(
                    lambda p, a=account: p.sudo().sale_id.amazon_account_id == a
                ),
            )
        failed = pickings.filtered(lambda p: p.amazon_sync_status == "error")
        waiting = pickings.filtered(lambda p: p.amazon_sync_status == "pending")
        if failed:
            message, kind = _("Amazon refused it again: see the error on the delivery."), "danger"
        elif waiting:
            message = _(
                "Amazon did not answer yet (or another synchronization is running): the "
                "delivery stays pending and is sent again automatically."
            )
            kind = "warning"
        else:
            message, kind = _("Amazon confirmed the shipment."), "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Amazon"),
                "message": message,
                "type": kind,
                "sticky": kind != "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # --- Deliveries Amazon may already have (the user decides) -----------------------------
    def _amazon_unsure(self):
        pickings = self._amazon_is_fbm_delivery().filtered(
            lambda p: p.state == "done" and p.amazon_sync_status == "error" and p.amazon_sync_unsure
        )
        if not pickings:
            raise UserError(_("None of these deliveries waits for you to check it on Amazon."))
        return pickings

    def action_amazon_confirmed_on_amazon(self):
        """The user checked Seller Central: Amazon has the shipment. Marked as synced,
        nothing is sent."""
        pickings = self._amazon_unsure()
        pickings._amazon_mark_synced(
            _(
                "Marked as confirmed on Amazon by %(user)s after checking the order in Seller "
                "Central: nothing was sent.",
                user=self.env.user.name,
            )
        )
        return True

    def action_amazon_send_again(self):
        """The user checked Seller Central: Amazon does not have the shipment. Sent again
        through the usual path, without the check that stopped it (once)."""
        pickings = self._amazon_unsure()
        pickings.write(
            {
                "amazon_sync_status": "pending",
                "amazon_sync_error": False,
                "amazon_sync_unsure": False,
                "amazon_resend_confirmed": True,
            }
        )
        for picking in pickings:
            picking.message_post(
                body=_(
                    "%(user)s checked the order in Seller Central and asked to send the "
                    "shipment confirmation again.",
                    user=self.env.user.name,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return pickings._amazon_send_now()
