// The NESO Demand Flexibility Service plugin: declares the ten DFS API payloads (DFS API Schema
// V1.6, DFS 4.0). Their constraints live in schemas/dfs and rules/dfs; this library says which
// types exist, where their records are, and which keys recognise them.
#include "flowguard/plugin_abi.h"

namespace {

constexpr const char* kSpec = "NESO DFS API Schema V1.6";

// Key hints are the record properties of each appendix schema (the key names the schema uses).
const char* const kUnitMeterPointKeys[] = {
    "Submission Date", "Registered DFS Participant", "Import MPAN", "Export MPAN", "MPANs Effective From",
    "MPANs Effective To", "MPANs Customer Consent Flag", "Consent Effective From", "Consent Effective To",
    "Sub Meter Serial Number", "Timestamp Subscribed", "Postcode", "Zone", "DFS Unit ID", "Opt In", "HH Settled",
    "Consumer Type", "Baseline Type", "Flexibility Type", "DFS Initiation Measure", "Action", nullptr};
const char* const kBidKeys[] = {"Event ID", "Event Type", "Delivery Date", "Registered DFS Participant", "DFS Unit ID",
                                "DFS Volume MW", "From_Local", "To_Local", "Utilisation price GBP per MWh", nullptr};
const char* const kWeeklySettlementKeys[] = {
    "Event ID", "Event Type", "Delivery Date", "From_Local", "To_Local", "Registered DFS Participant", "DFS Unit ID",
    "Import MPAN", "Export MPAN", "Sub Meter Serial Number", "Participating", "Baseline kWh", "Metered kWh",
    "Delivered kWh", "Accepted Utilisation Price GBP per MWh", "HH Settled", "Participating Meter Electricity Supplier",
    "Consumer Type", "Elexon BMU ID", "Baseline type", nullptr};
const char* const kMpanForecastKeys[] = {"Delivery Date", "From_Local", "To_Local", "Registered DFS Participant",
                                         "DFS Unit ID", "Import MPAN", "Export MPAN", "Baseline kWh", nullptr};
const char* const kPortfolioKeys[] = {
    "Submission Date", "Registered DFS Participant", "Import MPAN", "Export MPAN", "MPANs Effective From",
    "MPANs Effective To", "MPANs Customer Consent Flag", "Consent Effective From", "Consent Effective To",
    "Sub Meter Serial Number", "Timestamp Subscribed", "Postcode", "Zone", "DFS Unit ID", "Opt In", "HH Settled",
    "Consumer Type", "Baseline Type", "Flexibility Type", "DFS Initiation Measure", nullptr};
const char* const kBidResultKeys[] = {"EventID", "EventType", "Delivery Date", "Registered DFS Participant",
                                      "DFS Unit ID", "DFS Volume MW", "From_Local", "To_Local",
                                      "Utilisation Price GBP per MWh", "Status", nullptr};
const char* const kSettlementKeys[] = {
    "Event ID", "Event Type", "Event Tag", "Delivery Date", "From_Local", "To_Local", "Settlement Period",
    "Registered DFS Participant", "DFS Unit ID", "Baseline MWh", "Metered MWh", "Delivered MWh",
    "Accepted Utilisation Price GBP per MWh", "DFS Procured (MW)", "Settled MWh", "Settled GBP (£)", nullptr};
const char* const kAbsvdDomesticKeys[] = {"Event ID", "Event Type", "Delivery Date", "From_Local", "To_Local",
                                          "Settlement Period", "Registered DFS Participant", "DFS Unit ID",
                                          "Delivered MWh", "Elexon BMU ID", nullptr};
const char* const kAbsvdNonDomesticKeys[] = {
    "Event ID", "Event Type", "Delivery Date", "From_Local", "To_Local", "From_UTC", "To_UTC", "Settlement Period",
    "Registered DFS Participant", "DFS Unit ID", "Import Mpan", "Export Mpan", "Delivered MWh",
    "Accepted Utilisation Price GBP per MWh", nullptr};
const char* const kExclusionKeys[] = {"ConflictStart_local", "ConflictEnd_local", "ConflictStart_UTC",
                                      "ConflictEnd_UTC", "Registered DFS Participant", "MPAN", "DFS Unit",
                                      "Reason Code", "Conflict Direction", nullptr};

constexpr fg_type submission(const char* name, const char* title, const char* schema, const char* const* keys) {
  return fg_type{name, title, schema, "dfs", FG_SHAPE_RECORD_ARRAY, nullptr, "/items", nullptr, 0, keys, kSpec, 0, nullptr};
}
constexpr fg_type retrieval(const char* name, const char* title, const char* schema, const char* const* keys) {
  return fg_type{name, title, schema, "dfs", FG_SHAPE_ENVELOPE, "/data", "/properties/data/items", nullptr, 0, keys, kSpec, 0, nullptr};
}

const fg_type kTypes[] = {
    submission("dfs.unit-meter-point-schedule", "DFS Unit Meter Point Schedule submission (POST)",
               "dfs/unit-meter-point-schedule.schema.json", kUnitMeterPointKeys),
    submission("dfs.bid-submission", "DFS Bid Submission (POST)", "dfs/bid-submission.schema.json", kBidKeys),
    submission("dfs.weekly-settlement", "DFS Weekly Settlement submission (POST)", "dfs/weekly-settlement.schema.json",
               kWeeklySettlementKeys),
    submission("dfs.mpan-forecast", "DFS Consolidated MPAN Forecast (POST)", "dfs/mpan-forecast.schema.json",
               kMpanForecastKeys),
    retrieval("dfs.mpan-portfolio", "DFS MPAN Portfolio response (GET)", "dfs/mpan-portfolio.schema.json", kPortfolioKeys),
    retrieval("dfs.bid-results", "DFS Bid Results response (GET)", "dfs/bid-results.schema.json", kBidResultKeys),
    retrieval("dfs.settlement-report", "DFS Summarised Settlement Report response (GET)",
              "dfs/settlement-report.schema.json", kSettlementKeys),
    retrieval("dfs.absvd-domestic", "DFS Summarised ABSVD Domestic Report response (GET)",
              "dfs/absvd-domestic.schema.json", kAbsvdDomesticKeys),
    retrieval("dfs.absvd-non-domestic", "DFS Summarised ABSVD Non-Domestic Report response (GET)",
              "dfs/absvd-non-domestic.schema.json", kAbsvdNonDomesticKeys),
    retrieval("dfs.exclusion-report", "DFS Participant Exclusion Report response (GET)",
              "dfs/exclusion-report.schema.json", kExclusionKeys),
};

const fg_plugin kPlugin = {
    FG_PLUGIN_ABI_MAJOR, FG_PLUGIN_ABI_MINOR, "dfs", "1.0.0",
    "NESO Demand Flexibility Service API payloads (DFS API Schema V1.6)", kTypes, sizeof kTypes / sizeof kTypes[0],
    nullptr,  // every DFS type is recognised by its keys, so there are no variants to miss
    FG_TYPE_SIZE,
};

}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
