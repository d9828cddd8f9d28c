// The supplier-side integration service (SSI) plugin: the Metering Service appointment request and
// the MPAN API responses. Constraints live in schemas/ssi and rules/ssi; this library says which
// types exist, where their records are, and which keys recognise them. docs/ssi-spec-notes.md
// records how flowguard reads the two SSI documents where they are silent or ambiguous.
#include "flowguard/plugin_abi.h"

namespace {

constexpr const char* kMsSpec = "SSI Metering Service API overview (POST /metering-services/v1/{mpid}/appoint)";
constexpr const char* kMpanSpec = "SSI MPAN API schema reference";

// The appointment body: flowguard's reading of the fields (the overview names none; see the notes).
const char* const kAppointmentKeys[] = {"mpan_id", "metering_service_mpid", "metering_service_dip_id",
                                        "metering_service_efd", "appointment_scenario", "contract_reference",
                                        nullptr};
// MpanResponseSchemaBase: the items of the list response's "mpans" array.
const char* const kMpanListItemKeys[] = {
    "id", "address_line_1", "address_line_2", "address_line_3", "address_line_4", "address_line_5",
    "address_line_6", "address_line_7", "address_line_8", "address_line_9", "postcode", "registration_id",
    "supply_start_date", "registration_status", nullptr};
// MpanSchema: MpanSchemaBase plus updated, related_mpans, linked_mpans and migration_statuses. The
// service serialises every field (null when unset), so a response carries most of these keys.
const char* const kMpanKeys[] = {
    "id", "address_line_1", "address_line_2", "address_line_3", "address_line_4", "address_line_5",
    "address_line_6", "address_line_7", "address_line_8", "address_line_9", "postcode", "gsp_group_id",
    "distributor_dip_id", "distributor_mpid", "domestic_indicator", "domestic_indicator_efd", "energy_direction",
    "metered_indicator", "duos_tariff_id", "duos_tariff_efd", "energisation_status", "energisation_status_efd",
    "connection_type_indicator", "connection_type_indicator_efd", "market_segment", "market_segment_efd",
    "annual_consumption", "annual_consumption_efd", "annual_consumption_quality_indicator",
    "metering_service_dip_id", "metering_service_mpid", "metering_service_efd", "metering_service_etd",
    "data_service_dip_id", "data_service_mpid", "data_service_efd", "data_service_etd", "mdr_dip_id", "mdr_mpid",
    "mdr_efd", "customer_direct_contract_metering_service", "customer_direct_contract_metering_service_mpid",
    "customer_direct_contract_metering_service_dip_id", "customer_direct_contract_metering_service_efd",
    "customer_direct_contract_metering_service_etd", "customer_direct_contract_data_service",
    "customer_direct_contract_data_service_mpid", "customer_direct_contract_data_service_dip_id",
    "customer_direct_contract_data_service_efd", "customer_direct_contract_data_service_etd", "dcc_service_flag",
    "dcc_service_flag_efd", "ihd_install_status", "ihd_install_status_efd", "smso_id", "smso_id_efd",
    "profile_class", "profile_class_efd", "ssc", "ssc_efd", "registration_id", "registration_status_efd",
    "supplier_mpid", "registration_status", "supply_start_date", "supply_end_date", "consent_granularity",
    "consent_granularity_efd", "measurement_class_id", "updated", "related_mpans", "linked_mpans",
    "migration_statuses", nullptr};

const fg_type kTypes[] = {
    {"ssi.ms-appointment-request",
     "SSI Metering Service appointment request body (POST /metering-services/v1/{mpid}/appoint)",
     "ssi/ms-appointment-request.schema.json", "ssi", FG_SHAPE_MESSAGE, nullptr, "", nullptr, 0, kAppointmentKeys,
     kMsSpec, 0, nullptr},
    {"ssi.mpan-list", "SSI MPAN list response (MpanResponseSchema)", "ssi/mpan-list.schema.json", "ssi",
     FG_SHAPE_ENVELOPE, "/mpans", "/properties/mpans/items", nullptr, 0, kMpanListItemKeys, kMpanSpec, 0, nullptr},
    {"ssi.mpan", "SSI single MPAN response (MpanSchema)", "ssi/mpan.schema.json", "ssi", FG_SHAPE_MESSAGE, nullptr, "",
     nullptr, 0, kMpanKeys, kMpanSpec, 0, nullptr},
};

const fg_plugin kPlugin = {
    FG_PLUGIN_ABI_MAJOR, FG_PLUGIN_ABI_MINOR, "ssi", "1.0.0",
    "Supplier-side integration service (SSI) API payloads: Metering Service appointment, MPAN responses", kTypes,
    sizeof kTypes / sizeof kTypes[0], nullptr, FG_TYPE_SIZE,
};

}  // namespace

FG_DECLARE_PLUGIN(kPlugin)
