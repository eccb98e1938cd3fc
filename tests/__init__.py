from . import test_install
from . import test_account
from . import test_order_sync
from . import test_accounting
from . import test_stock
from . import test_shipments
from . import test_reliability
