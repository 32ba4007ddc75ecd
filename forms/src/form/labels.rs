//! The Chinese and English labels of form fields, and the order forms and credential pages
//! show fields in. The Chinese label is also a CSV column's header.

use talent_core::credential::CredentialType;

/// Labels of subject fields (by path below `credentialSubject`, or of envelope fields), in
/// the order forms show them: the person, then the types' own fields (a field several types
/// share, such as `level`, once), then validity. The Chinese label is also the CSV header.
const LABELS: [(&str, &str, &str); 45] = [
    ("id", "标识", "Identifier"),
    ("name", "姓名", "Name"),
    ("idNumber", "身份证号", "Resident ID number"),
    (
        "creditCode",
        "统一社会信用代码",
        "Unified social credit code",
    ),
    ("employer", "工作单位", "Employer"),
    ("employer.name", "工作单位", "Employer"),
    (
        "employer.creditCode",
        "单位统一社会信用代码",
        "Employer credit code",
    ),
    ("district", "区县园区", "District or park"),
    ("holder", "持有人DID", "Holder DID"),
    ("category", "类别", "Category"),
    ("tier", "层级", "Tier"),
    ("field", "领域", "Field"),
    ("route", "认定方式", "Route"),
    ("policy", "政策依据", "Policy"),
    ("series", "系列", "Series"),
    ("specialty", "专业", "Specialty"),
    ("occupationCode", "职业代码", "Occupation code"),
    ("occupation", "职业", "Occupation"),
    ("qualification", "资格名称", "Qualification"),
    ("level", "级别", "Level"),
    ("titleName", "职称名称", "Title"),
    ("committee", "评审委员会", "Review committee"),
    ("approvalNumber", "批准文号", "Approval number"),
    ("conferredOn", "取得日期", "Conferred on"),
    ("assessmentBody", "评价机构", "Assessment body"),
    ("authority", "发证机关", "Issuing authority"),
    ("cardClass", "卡类别", "Card class"),
    ("basis", "申领依据", "Basis"),
    ("flexible", "柔性引进", "Flexible introduction"),
    ("benefits", "服务待遇", "Benefits"),
    ("scope.types", "授权类型", "Types in scope"),
    ("scope.levels", "授权级别", "Levels in scope"),
    ("scope.categories", "授权类别", "Categories in scope"),
    ("scope.districts", "授权区县", "Districts in scope"),
    ("basis.document", "依据文件", "Basis document"),
    ("basis.date", "文件日期", "Document date"),
    ("basis.url", "文件链接", "Document URL"),
    ("rules", "互认规则", "Rules"),
    ("supersedes", "取代协议", "Supersedes"),
    ("illustrative", "示例性质", "Illustrative"),
    ("region", "地区", "Region"),
    ("idNumberMasked", "身份证号", "ID number"),
    ("validFrom", "生效时间", "Valid from"),
    ("validUntil", "有效期至", "Valid until"),
    ("certificateNumber", "证书编号", "Certificate number"),
];

/// The Chinese and English label of a field. A field without an entry is labelled by its
/// name.
pub fn label(credential_type: CredentialType, path: &str) -> (&str, &str) {
    let name = path.strip_prefix("credentialSubject.").unwrap_or(path);
    match (credential_type, name) {
        (CredentialType::IssuerAccreditationCredential, "id") => {
            return ("被授权方DID", "Accredited issuer DID");
        }
        (
            CredentialType::IssuerAccreditationCredential
            | CredentialType::RecognitionAgreementCredential,
            "name",
        ) => return ("名称", "Name"),
        _ => {}
    }
    LABELS
        .iter()
        .find(|(known, _, _)| *known == name)
        .map_or((name, name), |(_, zh, en)| (zh, en))
}

/// Where a field goes in a form or on a credential page: its place in the label table,
/// unknown fields last.
pub fn display_order(path: &str) -> usize {
    let name = path.strip_prefix("credentialSubject.").unwrap_or(path);
    LABELS
        .iter()
        .position(|(known, _, _)| *known == name)
        .unwrap_or(LABELS.len())
}
