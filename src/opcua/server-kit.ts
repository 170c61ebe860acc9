// The node-opcua server API for the simulated plants in src/dev/: node-opcua is imported only in this
// folder, so its version and its pitfalls (PKI folders, log routing) are owned in one place.
import "./logging.js";

export {
  AccessLevelFlag, DataType, DataValue, MessageSecurityMode, OPCUACertificateManager, OPCUAServer, SecurityPolicy, StatusCodes, Variant,
  VariantArrayType, type Namespace, type UAVariable,
} from "node-opcua";
