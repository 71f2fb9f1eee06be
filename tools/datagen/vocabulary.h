// Fixed vocabularies of the synthetic export: provinces, names, the product
// taxonomy, search phrases, promo codes and the categorical shares of
// data.md. Weights are relative (they need not sum to 1).
#ifndef WINBACK_TOOLS_DATAGEN_VOCABULARY_H_
#define WINBACK_TOOLS_DATAGEN_VOCABULARY_H_

#include <array>
#include <cstdint>

namespace winback::datagen {

struct Province {
  const char* name;
  double lat;
  double lon;
  double weight;
};

inline constexpr std::array<Province, 34> kProvinces = {{
    {"Jakarta Raya", -6.2088, 106.8456, 18},
    {"Jawa Barat", -6.9147, 107.6098, 17},
    {"Jawa Timur", -7.2575, 112.7521, 12},
    {"Jawa Tengah", -6.9667, 110.4167, 10},
    {"Banten", -6.1200, 106.1503, 6},
    {"Yogyakarta", -7.7956, 110.3695, 4},
    {"Sumatera Utara", 3.5952, 98.6722, 4},
    {"Sumatera Barat", -0.9471, 100.4172, 2.5},
    {"Sumatera Selatan", -2.9761, 104.7754, 2.5},
    {"Riau", 0.5071, 101.4478, 2},
    {"Kepulauan Riau", 1.0456, 104.0305, 1.2},
    {"Jambi", -1.6101, 103.6131, 1},
    {"Bengkulu", -3.7928, 102.2608, 0.6},
    {"Lampung", -5.4500, 105.2667, 2},
    {"Bangka Belitung", -2.1316, 106.1169, 0.6},
    {"Aceh", 5.5483, 95.3238, 1.2},
    {"Bali", -8.6500, 115.2167, 2.5},
    {"Nusa Tenggara Barat", -8.5833, 116.1167, 1},
    {"Nusa Tenggara Timur", -10.1772, 123.6070, 0.8},
    {"Kalimantan Barat", -0.0263, 109.3425, 1},
    {"Kalimantan Tengah", -2.2136, 113.9108, 0.6},
    {"Kalimantan Selatan", -3.3194, 114.5908, 1},
    {"Kalimantan Timur", -0.5022, 117.1536, 1.5},
    {"Kalimantan Utara", 2.8375, 117.3653, 0.3},
    {"Sulawesi Utara", 1.4748, 124.8421, 0.8},
    {"Sulawesi Tengah", -0.8917, 119.8707, 0.5},
    {"Sulawesi Selatan", -5.1477, 119.4327, 2},
    {"Sulawesi Tenggara", -3.9985, 122.5129, 0.5},
    {"Sulawesi Barat", -2.6786, 118.8933, 0.2},
    {"Gorontalo", 0.5435, 123.0568, 0.3},
    {"Maluku", -3.6954, 128.1814, 0.3},
    {"Maluku Utara", 0.7893, 127.3842, 0.2},
    {"Papua", -2.5337, 140.7181, 0.4},
    {"Papua Barat", -0.8615, 134.0620, 0.2},
}};

inline constexpr std::array<const char*, 40> kFemaleFirstNames = {
    "Siti",   "Dewi",    "Putri", "Ayu",   "Rina",   "Wulan",  "Fitri",
    "Indah",  "Lestari", "Nur",   "Sri",   "Ratna",  "Maya",   "Intan",
    "Anisa",  "Kartika", "Mega",  "Novi",  "Yuni",   "Dian",   "Citra",
    "Tania",  "Nabila",  "Aulia", "Salsa", "Rahma",  "Bunga",  "Melati",
    "Sari",   "Eka",     "Nadia", "Laras", "Ratih",  "Kirana", "Vina",
    "Amelia", "Zahra",   "Farah", "Hana",  "Ningsih"};
inline constexpr std::array<const char*, 40> kMaleFirstNames = {
    "Budi",   "Agus",   "Andi",   "Rizky",  "Dimas",   "Fajar", "Bayu",
    "Hendra", "Joko",   "Eko",    "Arif",   "Bambang", "Dedi",  "Rudi",
    "Yoga",   "Adit",   "Gilang", "Ilham",  "Reza",    "Wahyu", "Teguh",
    "Hadi",   "Irfan",  "Fikri",  "Galih",  "Kevin",   "Putra", "Rangga",
    "Satria", "Taufik", "Yusuf",  "Aditya", "Bagus",   "Cahyo", "Doni",
    "Farhan", "Guntur", "Haris",  "Iwan",   "Lukman"};
inline constexpr std::array<const char*, 40> kLastNames = {
    "Santoso",  "Wijaya",     "Saputra",     "Pratama",   "Hidayat", "Kusuma",
    "Nugroho",  "Setiawan",   "Gunawan",     "Halim",     "Lubis",   "Siregar",
    "Nasution", "Harahap",    "Simanjuntak", "Wibowo",    "Susanto", "Purnomo",
    "Utomo",    "Firmansyah", "Ramadhan",    "Kurniawan", "Permana", "Maulana",
    "Hakim",    "Sitompul",   "Tanjung",     "Rahman",    "Suryadi", "Handoko",
    "Putri",    "Lestari",    "Anggraini",   "Wulandari", "Rahayu",  "Safitri",
    "Hartono",  "Siswanto",   "Irawan",      "Sembiring"};
inline constexpr std::array<const char*, 6> kEmailDomains = {
    "gmail.com",   "yahoo.com",   "hotmail.com",
    "outlook.com", "yahoo.co.id", "zakyfoundation.com"};

inline constexpr std::array<const char*, 10> kAndroidVersions = {
    "2.2.1", "4.4.4", "5.1.1", "6.0.1", "7.1.2",
    "8.1.0", "9",     "10",    "11",    "12"};
inline constexpr std::array<const char*, 8> kIosVersions = {
    "12_4_8", "13_5_1", "13_7", "14_2_1", "14_8", "15_0_2", "15_4_1", "15_5"};

struct ArticleType {
  const char* master;
  const char* sub;
  const char* article;
  double weight;
};

inline constexpr std::array<ArticleType, 36> kArticleTypes = {{
    {"Apparel", "Topwear", "Tshirts", 14},
    {"Apparel", "Topwear", "Shirts", 7},
    {"Apparel", "Topwear", "Kurtas", 4},
    {"Apparel", "Topwear", "Tops", 4},
    {"Apparel", "Topwear", "Sweatshirts", 1},
    {"Apparel", "Topwear", "Jackets", 1},
    {"Apparel", "Topwear", "Sweaters", 0.6},
    {"Apparel", "Bottomwear", "Jeans", 1.5},
    {"Apparel", "Bottomwear", "Trousers", 1.2},
    {"Apparel", "Bottomwear", "Shorts", 1.2},
    {"Apparel", "Bottomwear", "Skirts", 0.3},
    {"Apparel", "Bottomwear", "Track Pants", 0.7},
    {"Apparel", "Dress", "Dresses", 1},
    {"Apparel", "Innerwear", "Briefs", 2},
    {"Apparel", "Innerwear", "Bra", 1},
    {"Apparel", "Saree", "Sarees", 1},
    {"Footwear", "Shoes", "Casual Shoes", 6.5},
    {"Footwear", "Shoes", "Sports Shoes", 4.5},
    {"Footwear", "Shoes", "Formal Shoes", 1.5},
    {"Footwear", "Shoes", "Heels", 3},
    {"Footwear", "Shoes", "Flats", 1.2},
    {"Footwear", "Sandal", "Sandals", 2},
    {"Footwear", "Flip Flops", "Flip Flops", 2},
    {"Accessories", "Watches", "Watches", 6},
    {"Accessories", "Bags", "Handbags", 4},
    {"Accessories", "Bags", "Backpacks", 1.6},
    {"Accessories", "Belts", "Belts", 1.9},
    {"Accessories", "Eyewear", "Sunglasses", 2.4},
    {"Accessories", "Wallets", "Wallets", 2},
    {"Accessories", "Jewellery", "Earrings", 1},
    {"Personal Care", "Fragrance", "Perfume and Body Mist", 1.4},
    {"Personal Care", "Fragrance", "Deodorant", 0.8},
    {"Personal Care", "Lips", "Lipstick", 0.7},
    {"Personal Care", "Nails", "Nail Polish", 0.7},
    {"Free Items", "Free Gifts", "Free Gifts", 0.25},
    {"Sporting Goods", "Sports Equipment", "Footballs", 0.05},
}};
// Home goods are rare; kept apart so the taxonomy weights stay readable.
inline constexpr ArticleType kHomeArticle = {"Home", "Home Furnishing",
                                             "Cushion Covers", 0.02};

inline constexpr std::array<const char*, 5> kProductGenders = {
    "Men", "Women", "Unisex", "Boys", "Girls"};
inline constexpr std::array<double, 5> kProductGenderWeights = {50, 42, 4.5, 2,
                                                                1.5};
inline constexpr std::array<const char*, 18> kColours = {
    "Black", "White", "Blue",      "Brown",  "Grey",   "Red",
    "Green", "Pink",  "Navy Blue", "Purple", "Silver", "Yellow",
    "Beige", "Gold",  "Maroon",    "Orange", "Olive",  "Multi"};
inline constexpr std::array<const char*, 4> kSeasons = {"Summer", "Fall",
                                                        "Winter", "Spring"};
inline constexpr std::array<double, 4> kSeasonWeights = {48, 26, 19, 7};
inline constexpr std::array<const char*, 8> kUsages = {
    "Casual",       "Sports", "Ethnic", "Formal",
    "Smart Casual", "Party",  "Travel", "Home"};
inline constexpr std::array<double, 8> kUsageWeights = {78,  9,   7,   5,
                                                        0.2, 0.6, 0.2, 0.05};
inline constexpr std::array<const char*, 24> kBrands = {
    "Nike",   "Puma",     "Adidas",  "Roadster", "Jealous 21", "Wrangler",
    "Levis",  "Fossil",   "Titan",   "Baggit",   "Lavie",      "Catwalk",
    "Reebok", "Converse", "Skagen",  "Fastrack", "Wildcraft",  "Lotto",
    "Erigo",  "Eiger",    "3Second", "Boss",     "Lakme",      "Carrera"};
// Names with unquoted commas (the product.csv quirk); {brand} is prefixed.
inline constexpr std::array<const char*, 6> kCommaNames = {
    "Men Perfume, After Shave Balm and Shower Gel Set",
    "Women Lipstick, Nail Polish and Kajal Combo",
    "Unisex Set of 3 Socks, Black, Grey and White",
    "Men Shirt, Tie and Cufflink Gift Set",
    "Women Kurta, Churidar, Dupatta Set",
    "Men Watch, Wallet and Belt Combo"};

inline constexpr std::array<const char*, 30> kSearchKeywords = {
    "Dress Kondangan",   "Baju Lebaran",    "Sepatu Sneakers",
    "Kemeja Pria",       "Tas Wanita",      "Celana Jeans",
    "Kaos Polos",        "Jaket Bomber",    "Hijab Segi Empat",
    "Sandal Jepit",      "Rok Plisket",     "Gamis Syari",
    "Kacamata Hitam",    "Jam Tangan Pria", "Sepatu Olahraga",
    "Baju Tidur",        "Kaos Kaki",       "Batik Pria",
    "Blouse Wanita",     "Tas Ransel",      "Parfum Wanita",
    "Sepatu Pantofel",   "Celana Chino",    "Kemeja Flanel",
    "Dompet Kulit",      "Sweater Rajut",   "Tunik Muslimah",
    "Sepatu Hak Tinggi", "Celana Training", "Baju Couple"};

inline constexpr std::array<const char*, 8> kPromoCodes = {
    "WEEKENDSERU",   "AZ2022",    "BUYMORE", "XX2022",
    "WEEKENDMANTAP", "LIBURDONG", "SC2022",  "STARTUP"};
inline constexpr std::array<const char*, 5> kPaymentMethods = {
    "Credit Card", "Gopay", "OVO", "Debit Card", "LinkAja"};
inline constexpr std::array<double, 5> kPaymentMethodWeights = {35, 20, 20, 16,
                                                                9};
inline constexpr std::array<int64_t, 6> kShipmentFees = {0,     5000,  10000,
                                                         15000, 25000, 50000};
inline constexpr std::array<double, 6> kShipmentFeeWeights = {25, 20, 20,
                                                              15, 12, 8};

}  // namespace winback::datagen

#endif  // WINBACK_TOOLS_DATAGEN_VOCABULARY_H_
