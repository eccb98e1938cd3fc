# Transient models (wizards) of the connector go here.
from . import account_move_send
from . import account_payment_register
from . import amazon_payout_register
from . import amazon_recover_order
